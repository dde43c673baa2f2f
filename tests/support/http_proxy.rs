//! An HTTP/1.1 proxy on loopback that sees every request and its answer whole, and lets a test
//! change or lose the answer: a REST proxy that drifts the type of fields in front of bybit-sim,
//! a fault proxy in front of etcd that loses one transaction's answer and a lease's keep-alives.
//! Each request goes upstream on a connection of its own (`Connection: close`), so an answer
//! held back costs only the client's request, as a lost packet would. Streamed answers (etcd's
//! watch) are passed through as they come, or held silent: the connection stays open and
//! nothing more arrives — a watch that is alive but never speaks.

// Each test binary that includes this uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One request and the upstream's answer to it.
pub struct Exchange<'a> {
    pub method: &'a str,
    /// Path and query.
    pub target: &'a str,
    pub request: &'a [u8],
    pub status: u16,
    pub response: &'a [u8],
}

/// What the client gets.
pub enum Answer {
    /// This body (the upstream's headers kept, its length set anew).
    Pass(Vec<u8>),
    /// Nothing, ever: the connection stays open and silent until the client gives up.
    Hold,
}

pub type Rule = dyn Fn(&Exchange) -> Answer + Send + Sync;

/// Asked before a request goes upstream: `Some((status, body))` answers it here and the
/// upstream never sees it (a member that refuses: nothing is applied).
pub type Refusal = dyn Fn(&str, &[u8]) -> Option<(u16, Vec<u8>)> + Send + Sync;

/// Asked before a request goes upstream: `Some(d)` holds it that long first — it lands late,
/// whether or not the client still waits (a request slow on the network, not lost).
pub type Delay = dyn Fn(&str, &[u8]) -> Option<Duration> + Send + Sync;

pub struct HttpProxy {
    pub addr: SocketAddr,
    silent_streams: Arc<AtomicBool>,
}

impl HttpProxy {
    /// Forward to `upstream`; `rule` decides each answer; requests whose path starts with one of
    /// `streams` are streamed (the rule does not see them).
    pub fn start(upstream: SocketAddr, streams: &'static [&'static str], rule: Arc<Rule>) -> HttpProxy {
        Self::start_refusing(upstream, streams, Arc::new(|_, _| None), rule)
    }

    /// Every answer passed; requests `delay` names go upstream that much later.
    pub fn start_delaying(upstream: SocketAddr, delay: Arc<Delay>) -> HttpProxy {
        Self::start_with(
            upstream,
            &[],
            Arc::new(|_, _| None),
            delay,
            Arc::new(|x| Answer::Pass(x.response.to_vec())),
        )
    }

    /// As [`HttpProxy::start`], with requests `refuse` answers before they go upstream.
    pub fn start_refusing(upstream: SocketAddr, streams: &'static [&'static str], refuse: Arc<Refusal>, rule: Arc<Rule>) -> HttpProxy {
        Self::start_with(upstream, streams, refuse, Arc::new(|_, _| None), rule)
    }

    fn start_with(
        upstream: SocketAddr,
        streams: &'static [&'static str],
        refuse: Arc<Refusal>,
        delay: Arc<Delay>,
        rule: Arc<Rule>,
    ) -> HttpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = Arc::new(AtomicBool::new(false));
        let s = silent.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (rule, refuse, delay, silent) = (rule.clone(), refuse.clone(), delay.clone(), s.clone());
                std::thread::spawn(move || serve(conn, upstream, streams, (&*refuse, &*delay, &*rule), &silent));
            }
        });
        HttpProxy {
            addr,
            silent_streams: silent,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, streamed answers pass nothing (their connections stay open).
    pub fn silence_streams(&self) {
        self.silent_streams.store(true, Ordering::SeqCst);
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_head(r: &mut impl BufRead) -> Option<(String, Vec<(String, String)>)> {
    let mut first = String::new();
    if r.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Some((first.trim_end().to_string(), headers));
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let (first, headers) = read_head(r)?;
    let mut parts = first.split(' ');
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let len: usize = header(&headers, "content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// The request as sent upstream: on a connection of its own, uncompressed.
fn upstream_bytes(req: &Request) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", req.method, req.target).into_bytes();
    for (k, v) in &req.headers {
        if !["connection", "accept-encoding", "content-length", "keep-alive"].contains(&k.to_ascii_lowercase().as_str()) {
            out.extend(format!("{k}: {v}\r\n").as_bytes());
        }
    }
    out.extend(format!("Content-Length: {}\r\nConnection: close\r\n\r\n", req.body.len()).as_bytes());
    out.extend(&req.body);
    out
}

fn read_chunked(r: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        if r.read_line(&mut size).unwrap_or(0) == 0 {
            return body;
        }
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        if n == 0 {
            return body;
        }
        let mut chunk = vec![0; n + 2];
        if r.read_exact(&mut chunk).is_err() {
            return body;
        }
        body.extend(&chunk[..n]);
    }
}

fn serve(client: TcpStream, upstream: SocketAddr, streams: &[&str], (refuse, delay, rule): (&Refusal, &Delay, &Rule), silent: &AtomicBool) {
    let _ = client.set_nodelay(true);
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut client = client;
    while let Some(req) = read_request(&mut reader) {
        if let Some((status, body)) = refuse(&req.target, &req.body) {
            let head = format!(
                "HTTP/1.1 {status} Refused\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if client.write_all(head.as_bytes()).and_then(|_| client.write_all(&body)).is_err() {
                return;
            }
            continue;
        }
        if let Some(d) = delay(&req.target, &req.body) {
            std::thread::sleep(d);
        }
        let Ok(mut up) = TcpStream::connect(upstream) else { return };
        if up.write_all(&upstream_bytes(&req)).is_err() {
            return;
        }
        let mut up_reader = BufReader::new(up.try_clone().unwrap());
        let Some((status_line, headers)) = read_head(&mut up_reader) else {
            return;
        };
        if streams.iter().any(|p| req.target.starts_with(p)) {
            let mut head = format!("{status_line}\r\n");
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            if client.write_all(head.as_bytes()).is_err() {
                return;
            }
            pump(&mut up_reader, &mut client, silent);
            return;
        }
        let body = if header(&headers, "transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            read_chunked(&mut up_reader)
        } else if let Some(len) = header(&headers, "content-length").and_then(|l| l.parse::<usize>().ok()) {
            let mut b = vec![0; len];
            let _ = up_reader.read_exact(&mut b);
            b
        } else {
            let mut b = Vec::new();
            let _ = up_reader.read_to_end(&mut b);
            b
        };
        let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(502);
        let seen = Exchange {
            method: &req.method,
            target: &req.target,
            request: &req.body,
            status,
            response: &body,
        };
        match rule(&seen) {
            Answer::Pass(body) => {
                let mut head = format!("{status_line}\r\n");
                for (k, v) in &headers {
                    if !["connection", "content-length", "transfer-encoding", "keep-alive"].contains(&k.to_ascii_lowercase().as_str()) {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                }
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                if client.write_all(head.as_bytes()).and_then(|_| client.write_all(&body)).is_err() {
                    return;
                }
            }
            Answer::Hold => {
                // Lost: the client waits for an answer that never comes, then gives up on the
                // connection.
                let mut sink = [0u8; 1024];
                while matches!(reader.get_mut().read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
        }
    }
}

fn pump(from: &mut BufReader<TcpStream>, to: &mut TcpStream, silent: &AtomicBool) {
    let _ = from.get_ref().set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) if silent.load(Ordering::SeqCst) => {
                // A silent watch does not end either: the client keeps waiting on it.
                let _ = to.set_read_timeout(None);
                while matches!(to.read(&mut buf), Ok(n) if n > 0) {}
                return;
            }
            Ok(0) => return,
            Ok(n) => {
                if silent.load(Ordering::SeqCst) {
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
