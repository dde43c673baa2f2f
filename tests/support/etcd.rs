//! A real etcd (Debian's `etcd-server`) on loopback for the high-availability tests: its own
//! data directory and ports, killed and started again the way an outage would, and a TCP
//! link that can be cut to stand for one instance's network to it.

// Each test binary that includes this uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::TestDir;

pub const ETCD: &str = "/usr/bin/etcd";

pub struct Etcd {
    child: Option<Child>,
    dir: TestDir,
    client: SocketAddr,
    peer: SocketAddr,
}

fn free() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

impl Etcd {
    /// A fresh etcd in `dir`. Missing etcd fails the test: CI installs it, and a high-availability
    /// test that passes without one proves nothing.
    pub fn start(dir: TestDir) -> Etcd {
        assert!(
            std::path::Path::new(ETCD).exists(),
            "{ETCD} is not installed (apt-get install etcd-server); .ci/run installs it"
        );
        let mut e = Etcd {
            child: None,
            dir,
            client: free(),
            peer: free(),
        };
        e.spawn();
        e
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.client)
    }

    fn spawn(&mut self) {
        let (client, peer) = (format!("http://{}", self.client), format!("http://{}", self.peer));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("etcd.log"))
            .unwrap();
        let child = Command::new(ETCD)
            .args(["--name", "t", "--data-dir"])
            .arg(self.dir.join("etcd-data"))
            .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("t={peer}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.child = Some(child);
        self.wait_healthy(Duration::from_secs(30));
    }

    fn wait_healthy(&self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(mut s) = TcpStream::connect_timeout(&self.client, Duration::from_millis(200)) {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = write!(s, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.contains("\"health\":\"true\"") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("etcd not healthy within {limit:?}; see {}", self.dir.join("etcd.log").display());
    }

    /// Started again on the same data after [`Etcd::kill`]: its leases survive, renewed by a TTL.
    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// Gone at once, as a crashed server (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP forwarder to `upstream` that can be cut: from then on nothing passes either way and
/// new connections are accepted and left hanging — a partition, not a refusal (no RST).
pub struct Link {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
}

impl Link {
    pub fn to(upstream: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let c = cut.clone();
        std::thread::spawn(move || {
            let mut hung = Vec::new();
            for conn in listener.incoming().flatten() {
                if c.load(Ordering::SeqCst) {
                    hung.push(conn);
                    continue;
                }
                let Ok(up) = TcpStream::connect(upstream) else { continue };
                let _ = conn.set_nodelay(true);
                let _ = up.set_nodelay(true);
                for (from, to) in [(conn.try_clone().unwrap(), up.try_clone().unwrap()), (up, conn)] {
                    let c = c.clone();
                    std::thread::spawn(move || pump(from, to, &c));
                }
            }
        });
        Link { addr, cut }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, cut: &AtomicBool) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        if cut.load(Ordering::SeqCst) {
            // Partitioned: hold both sockets open, pass nothing, for as long as the test runs.
            std::thread::sleep(Duration::from_secs(3600));
            return;
        }
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(std::net::Shutdown::Write);
                return;
            }
            Ok(n) => {
                if cut.load(Ordering::SeqCst) {
                    continue;
                }
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}
