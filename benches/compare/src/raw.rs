//! The physical floor: plain blocking std sockets, no messaging library.
//! - latency: ping-pong of fixed-size records (`write_all` then `read_exact`), TCP_NODELAY;
//! - throughput: a raw byte stream of fixed-size records, written in chunks of at least
//!   64 KiB (so small records are batched as any stream protocol would) and read in 1 MiB
//!   reads. Reported as records per second; multiply by the size for bandwidth.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::measure::Fixture;
use crate::sync::Res;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

pub trait Stream: Read + Write + Send + 'static {}
impl Stream for TcpStream {}
impl Stream for UnixStream {}

pub fn pair(transport: &str) -> Res<(Box<dyn Stream>, Box<dyn Stream>)> {
    match transport {
        "tcp" => {
            let l = TcpListener::bind("127.0.0.1:0").map_err(e)?;
            let a = TcpStream::connect(l.local_addr().map_err(e)?).map_err(e)?;
            let (b, _) = l.accept().map_err(e)?;
            a.set_nodelay(true).map_err(e)?;
            b.set_nodelay(true).map_err(e)?;
            Ok((Box::new(a), Box::new(b)))
        }
        "ipc" => {
            let (a, b) = UnixStream::pair().map_err(e)?;
            Ok((Box::new(a), Box::new(b)))
        }
        t => Err(format!("no raw {t}")),
    }
}

pub struct Lat {
    a: Box<dyn Stream>,
    buf: Vec<u8>,
    thread: Option<JoinHandle<()>>,
}

impl Lat {
    pub fn fixture(transport: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let (a, mut b) = pair(transport)?;
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; size];
            while b.read_exact(&mut buf).is_ok() {
                if b.write_all(&buf).is_err() {
                    break;
                }
            }
        });
        Ok(Box::new(Lat {
            a,
            buf: vec![b'x'; size],
            thread: Some(thread),
        }))
    }
}

impl Fixture for Lat {
    fn run(&mut self, n: u64) -> Res<Duration> {
        let t0 = Instant::now();
        for _ in 0..n {
            self.a.write_all(&self.buf).map_err(e)?;
            self.a.read_exact(&mut self.buf).map_err(e)?;
        }
        Ok(t0.elapsed())
    }
}

impl Drop for Lat {
    fn drop(&mut self) {
        // closing our end makes the echo thread's read fail
        let (dummy, _) = UnixStream::pair().expect("socketpair");
        drop(std::mem::replace(&mut self.a, Box::new(dummy)));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct Thr {
    a: Option<Box<dyn Stream>>,
    size: usize,
    chunk: Vec<u8>,
    cmd: Option<Sender<u64>>,
    ack: Receiver<Res<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Thr {
    pub fn fixture(transport: &str, size: usize) -> Res<Box<dyn Fixture>> {
        let (a, mut b) = pair(transport)?;
        let (cmd, cmd_rx) = channel::<u64>();
        let (ack_tx, ack) = channel();
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1024 * 1024];
            while let Ok(mut bytes) = cmd_rx.recv() {
                let mut r = Ok(());
                while bytes > 0 {
                    let want = buf.len().min(bytes as usize);
                    match b.read(&mut buf[..want]) {
                        Ok(0) => {
                            r = Err("eof".to_string());
                            break;
                        }
                        Ok(k) => bytes -= k as u64,
                        Err(x) => {
                            r = Err(e(x));
                            break;
                        }
                    }
                }
                if ack_tx.send(r).is_err() {
                    break;
                }
            }
        });
        let chunk = vec![b'x'; size.max(64 * 1024) / size * size];
        Ok(Box::new(Thr {
            a: Some(a),
            size,
            chunk,
            cmd: Some(cmd),
            ack,
            thread: Some(thread),
        }))
    }
}

impl Fixture for Thr {
    fn run(&mut self, n: u64) -> Res<Duration> {
        let mut bytes = n * self.size as u64;
        self.cmd
            .as_ref()
            .unwrap()
            .send(bytes)
            .map_err(|_| "reader gone".to_string())?;
        let a = self.a.as_mut().unwrap();
        let t0 = Instant::now();
        while bytes > 0 {
            let k = (self.chunk.len() as u64).min(bytes) as usize;
            a.write_all(&self.chunk[..k]).map_err(e)?;
            bytes -= k as u64;
        }
        self.ack
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "reader timed out".to_string())??;
        Ok(t0.elapsed())
    }
}

impl Drop for Thr {
    fn drop(&mut self) {
        self.cmd.take();
        self.a.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
