//! tokio's `fs`: not simulated (see the crate docs). Each function returns an
//! [`io::ErrorKind::Unsupported`] error naming itself.

use std::io;
use std::path::Path;

use crate::unsupported::unsupported;

/// Not simulated: returns an error naming `tokio::fs::read`.
///
/// # Errors
/// Always.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let _ = path;
    Err(unsupported("tokio::fs::read"))
}

/// Not simulated: returns an error naming `tokio::fs::read_to_string`.
///
/// # Errors
/// Always.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let _ = path;
    Err(unsupported("tokio::fs::read_to_string"))
}

/// Not simulated: returns an error naming `tokio::fs::write`.
///
/// # Errors
/// Always.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let _ = (path, contents);
    Err(unsupported("tokio::fs::write"))
}

/// Not simulated: returns an error naming `tokio::fs::create_dir_all`.
///
/// # Errors
/// Always.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let _ = path;
    Err(unsupported("tokio::fs::create_dir_all"))
}

/// Not simulated: returns an error naming `tokio::fs::remove_file`.
///
/// # Errors
/// Always.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let _ = path;
    Err(unsupported("tokio::fs::remove_file"))
}
