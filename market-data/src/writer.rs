//! Writing a recording: gzip, a line per frame. `flush` makes everything written so far
//! readable even if the process dies after it (a sync flush of the deflate stream); `finish`
//! writes the gzip trailer — a file cut short without it loses nothing flushed, but a reader
//! reports its truncated tail.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::line::format_line;

pub struct Writer {
    path: PathBuf,
    gz: GzEncoder<BufWriter<File>>,
    lines: u64,
}

impl Writer {
    /// A new file at `path` (its folder is created); an existing file is not overwritten.
    pub fn create(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::options().write(true).create_new(true).open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            gz: GzEncoder::new(BufWriter::new(file), Compression::default()),
            lines: 0,
        })
    }

    pub fn write(&mut self, local_ns: u64, frame: &str) -> io::Result<()> {
        self.gz.write_all(format_line(local_ns, frame).as_bytes())?;
        self.lines += 1;
        Ok(())
    }

    /// Everything written so far reaches the file as a complete deflate block.
    pub fn flush(&mut self) -> io::Result<()> {
        self.gz.flush()?;
        self.gz.get_mut().flush()
    }

    /// The gzip trailer written, the file synced to disk; how many lines it holds.
    pub fn finish(self) -> io::Result<u64> {
        let file = self.gz.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(self.lines)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }
}
