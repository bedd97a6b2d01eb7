//! tokio's `net`: not simulated (see the crate docs). `bind`/`connect` return an
//! [`io::ErrorKind::Unsupported`] error naming themselves; the types cannot be made.

use std::io;

use crate::unsupported::unsupported;

/// Not simulated: [`bind`](TcpListener::bind) fails.
#[derive(Debug)]
pub struct TcpListener(());

impl TcpListener {
    /// Not simulated: returns an error naming `tokio::net::TcpListener::bind`.
    ///
    /// # Errors
    /// Always.
    pub async fn bind<A>(addr: A) -> io::Result<TcpListener> {
        let _ = addr;
        Err(unsupported("tokio::net::TcpListener::bind"))
    }
}

/// Not simulated: [`connect`](TcpStream::connect) fails.
#[derive(Debug)]
pub struct TcpStream(());

impl TcpStream {
    /// Not simulated: returns an error naming `tokio::net::TcpStream::connect`.
    ///
    /// # Errors
    /// Always.
    pub async fn connect<A>(addr: A) -> io::Result<TcpStream> {
        let _ = addr;
        Err(unsupported("tokio::net::TcpStream::connect"))
    }
}

/// Not simulated: [`bind`](UdpSocket::bind) fails.
#[derive(Debug)]
pub struct UdpSocket(());

impl UdpSocket {
    /// Not simulated: returns an error naming `tokio::net::UdpSocket::bind`.
    ///
    /// # Errors
    /// Always.
    pub async fn bind<A>(addr: A) -> io::Result<UdpSocket> {
        let _ = addr;
        Err(unsupported("tokio::net::UdpSocket::bind"))
    }
}
