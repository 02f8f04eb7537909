//! A local, stateful emulator of the ConvoAI REST API.
#![warn(missing_docs)]
