//! Reading a recording, whatever it is compressed with (gzip, zstd or none: told by the first
//! bytes), line by line. A malformed line is reported with its file and number and skipped; a
//! compressed stream cut short (a recorder killed before it wrote the trailer) ends the file
//! with an error naming the last good line — everything before it is read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::line::{parse_line, LineError};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Plain,
}

/// One frame of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line number in the (decompressed) file.
    pub line: u64,
    pub local_ns: u64,
    pub frame: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The io error is in the message, not the chain (printed with its chain, `{:#}`, it would
    /// say the same thing twice).
    #[error("{file}: cannot open: {error}")]
    Open { file: PathBuf, error: io::Error },
    #[error("{file}: line {line}: {why}")]
    Malformed { file: PathBuf, line: u64, why: LineError },
    #[error("{file}: cut short after line {line} ({why}): the rest of the file is lost")]
    Truncated { file: PathBuf, line: u64, why: String },
}

/// Counts the bytes read from a file (compressed, as on disk): how far a reader has come.
pub struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R> Counted<R> {
    pub fn new(inner: R, read: Arc<AtomicU64>) -> Self {
        Self { inner, read }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A file's text, decompressed as its first bytes say.
pub fn open_text(path: &Path) -> io::Result<(Compression, Box<dyn BufRead + Send>)> {
    open_counted(path, Arc::default())
}

/// The same, counting the file's bytes read into `read`.
pub fn open_counted(path: &Path, read: Arc<AtomicU64>) -> io::Result<(Compression, Box<dyn BufRead + Send>)> {
    let mut file = BufReader::new(Counted::new(File::open(path)?, read));
    let head = file.fill_buf()?.to_vec();
    Ok(if head.starts_with(&GZIP_MAGIC) {
        (
            Compression::Gzip,
            Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(file))),
        )
    } else if head.starts_with(&ZSTD_MAGIC) {
        (Compression::Zstd, Box::new(BufReader::new(zstd::Decoder::with_buffer(file)?)))
    } else {
        (Compression::Plain, Box::new(file))
    })
}

/// The lines of one recording, as [`Record`]s; malformed lines and a truncated tail as errors.
pub struct Reader {
    file: PathBuf,
    text: Box<dyn BufRead + Send>,
    line: u64,
    done: bool,
    buf: Vec<u8>,
    pub compression: Compression,
    read: Arc<AtomicU64>,
    /// The file's size on disk.
    pub size: u64,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let read = Arc::new(AtomicU64::new(0));
        let opened = std::fs::metadata(path).and_then(|m| Ok((m.len(), open_counted(path, read.clone())?)));
        let (size, (compression, text)) = opened.map_err(|error| ReadError::Open {
            file: path.to_path_buf(),
            error,
        })?;
        Ok(Self {
            file: path.to_path_buf(),
            text,
            line: 0,
            done: false,
            buf: Vec::new(),
            compression,
            read,
            size,
        })
    }

    /// Bytes of the file read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

impl Iterator for Reader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            match self.text.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) if !self.buf.ends_with(b"\n") => {
                    // The last line without its newline: whole if the stream ended cleanly.
                    self.done = true;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(ReadError::Truncated {
                        file: self.file.clone(),
                        line: self.line,
                        why: e.to_string(),
                    }));
                }
            }
            self.line += 1;
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => std::borrow::Cow::Borrowed(t),
                Err(_) => String::from_utf8_lossy(&self.buf),
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some(match parse_line(&text) {
                Ok(l) => Ok(Record {
                    line: self.line,
                    local_ns: l.local_ns,
                    frame: l.frame.to_string(),
                }),
                Err(why) => Err(ReadError::Malformed {
                    file: self.file.clone(),
                    line: self.line,
                    why,
                }),
            });
        }
    }
}

/// Read all of a small input at once (tests, sniffing).
pub fn read_all(path: &Path) -> io::Result<String> {
    let (_, mut text) = open_text(path)?;
    let mut s = String::new();
    text.read_to_string(&mut s)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::Writer;
    use std::io::Write;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("market-data-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn gzip_zstd_and_plain_read_alike_and_a_bad_line_is_named_and_skipped() {
        let d = dir("kinds");
        let text = "1 {\"a\":1}\nnot a line\n2 {\"b\":2}\n";
        std::fs::write(d.join("plain.txt"), text).unwrap();
        std::fs::write(d.join("z.zst"), zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        std::fs::write(d.join("g.gz"), gz.finish().unwrap()).unwrap();
        for (name, kind) in [
            ("plain.txt", Compression::Plain),
            ("z.zst", Compression::Zstd),
            ("g.gz", Compression::Gzip),
        ] {
            let r = Reader::open(&d.join(name)).unwrap();
            assert_eq!(r.compression, kind);
            let items: Vec<_> = r.collect();
            assert_eq!(items.len(), 3, "{name}");
            assert_eq!(items[0].as_ref().unwrap().frame, "{\"a\":1}");
            let bad = items[1].as_ref().unwrap_err().to_string();
            assert!(bad.contains(name) && bad.contains("line 2"), "{bad}");
            assert_eq!(items[2].as_ref().unwrap().local_ns, 2);
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_gzip_cut_short_keeps_every_flushed_line_and_names_where_it_ends() {
        let d = dir("cut");
        let path = d.join("cut.gz");
        let mut w = Writer::create(&path).unwrap();
        for i in 0..100u64 {
            w.write(i, &format!("{{\"n\":{i}}}")).unwrap();
        }
        w.flush().unwrap();
        // Killed here: no trailer. The bytes so far are on disk.
        std::mem::forget(w);
        let items: Vec<_> = Reader::open(&path).unwrap().collect();
        let good = items.iter().filter(|i| i.is_ok()).count();
        assert_eq!(good, 100, "every flushed line is read");
        let last = items.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(last.contains("cut short after line 100"), "{last}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_finished_file_reads_whole() {
        let d = dir("whole");
        let path = d.join("w.gz");
        let mut w = Writer::create(&path).unwrap();
        w.write(7, "{\"x\":1}").unwrap();
        assert_eq!(w.finish().unwrap(), 1);
        let items: Vec<_> = Reader::open(&path).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            items,
            vec![Record {
                line: 1,
                local_ns: 7,
                frame: "{\"x\":1}".into()
            }]
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
