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

/// Prints a clap error: help and version as clap renders them, usage errors as one line
/// (clap's multi-line text folded), and exits 2 for the latter.
pub fn report_clap(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = e.render().to_string();
    let body = rendered
        .split("\n\nUsage:")
        .next()
        .unwrap_or(&rendered)
        .split("\n\nFor more information")
        .next()
        .unwrap_or(&rendered);
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("{line}");
    ExitCode::from(2)
}
