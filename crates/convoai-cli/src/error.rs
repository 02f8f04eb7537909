//! The CLI's one error type and its exit codes.

use std::process::ExitCode;

/// Everything a command can fail with; the variant decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Usage or invalid input: exit 2.
    #[error("{0}")]
    Invalid(String),
    /// A check or a remote call failed: exit 1.
    #[error("{0}")]
    Failed(String),
    /// The named resource does not exist: exit 3.
    #[error("{0}")]
    NotFound(String),
    /// Stdout was closed by its reader; not worth a message.
    #[error("output closed")]
    Closed,
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed(_) | CliError::Closed => 1,
            CliError::Invalid(_) => 2,
            CliError::NotFound(_) => 3,
        }
    }

    /// The same kind of error (and exit code) with another message.
    pub fn with_message(self, message: String) -> Self {
        match self {
            CliError::Invalid(_) => CliError::Invalid(message),
            CliError::Failed(_) => CliError::Failed(message),
            CliError::NotFound(_) => CliError::NotFound(message),
            CliError::Closed => CliError::Closed,
        }
    }
}

impl From<shengwang_agent::Error> for CliError {
    fn from(e: shengwang_agent::Error) -> Self {
        use shengwang_agent::Error as E;
        // The SDK's Display already names the status, reason, detail and request id, and
        // never a secret.
        match e {
            E::InvalidInput { .. } | E::Config(_) | E::Token(_) => CliError::Invalid(e.to_string()),
            ref api if api.is_not_found() => CliError::NotFound(api.to_string()),
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return CliError::Closed;
        }
        CliError::Failed(format!("cannot write output: {e}"))
    }
}

/// Prints a clap error as clap renders it: the message, the usage line and the hint to
/// `--help`, on their own lines. Help and version go to stdout and exit 0; usage errors go to
/// stderr and exit 2.
pub fn report_clap(e: clap::Error) -> ExitCode {
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}
