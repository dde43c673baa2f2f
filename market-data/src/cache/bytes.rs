//! The cache's encoding: integers little-endian, a price or size as its scale and an i64
//! mantissa, a string or list after its length.

use std::io::{self, Read, Write};

use rust_decimal::Decimal;

use crate::event::Level;

pub(super) struct W<T: Write>(pub(super) T);

impl<T: Write> W<T> {
    pub(super) fn u8(&mut self, v: u8) -> io::Result<()> {
        self.0.write_all(&[v])
    }
    pub(super) fn u64(&mut self, v: u64) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    pub(super) fn u32(&mut self, v: u32) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    /// A price or size: its scale, then its mantissa (prices and sizes fit an i64).
    pub(super) fn dec(&mut self, d: Decimal) -> io::Result<()> {
        let m = i64::try_from(d.mantissa()).map_err(|_| io::Error::other("a decimal too large for the cache"))?;
        self.u8(d.scale() as u8)?;
        self.0.write_all(&m.to_le_bytes())
    }
    pub(super) fn str(&mut self, s: &str) -> io::Result<()> {
        self.u32(s.len() as u32)?;
        self.0.write_all(s.as_bytes())
    }
    pub(super) fn levels(&mut self, l: &[Level]) -> io::Result<()> {
        self.u32(l.len() as u32)?;
        for (p, q) in l {
            self.dec(*p)?;
            self.dec(*q)?;
        }
        Ok(())
    }
}

/// The cache's bytes, read a large chunk at a time and taken as slices: no read call per field.
pub(super) struct R<T: Read> {
    inner: T,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

/// No field of a sound cache is near this; a damaged length must not allocate the machine away.
const MAX_FIELD: usize = 64 << 20;

fn dec_of(b: &[u8]) -> io::Result<Decimal> {
    let m = i64::from_le_bytes(b[1..9].try_into().expect("8 bytes"));
    Decimal::try_new(m, u32::from(b[0])).map_err(io::Error::other)
}

impl<T: Read> R<T> {
    pub(super) fn new(inner: T) -> Self {
        Self {
            inner,
            buf: vec![0; 1 << 20],
            pos: 0,
            end: 0,
        }
    }

    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.pos < n {
            self.refill(n)?;
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[cold]
    fn refill(&mut self, n: usize) -> io::Result<()> {
        if n > MAX_FIELD {
            return Err(io::Error::other(format!("a field of {n} bytes")));
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        while self.end < n {
            let got = self.inner.read(&mut self.buf[self.end..])?;
            if got == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.end += got;
        }
        Ok(())
    }

    pub(super) fn bytes<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    pub(super) fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    pub(super) fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    /// A price or size as [`W::dec`] wrote it: its scale, then its mantissa.
    pub(super) fn dec(&mut self) -> io::Result<Decimal> {
        dec_of(self.take(9)?)
    }
    pub(super) fn str(&mut self) -> io::Result<String> {
        let mut s = String::new();
        self.str_into(&mut s)?;
        Ok(s)
    }
    /// A string into `out`, reusing its allocation. Most are what `out` holds already (a
    /// symbol, a ticker's field names): those bytes are left as they are, valid already.
    pub(super) fn str_into(&mut self, out: &mut String) -> io::Result<()> {
        let n = self.u32()? as usize;
        let bytes = self.take(n)?;
        if out.as_bytes() != bytes {
            out.clear();
            out.push_str(std::str::from_utf8(bytes).map_err(io::Error::other)?);
        }
        Ok(())
    }
    /// Price levels into `out`, reusing its allocation.
    pub(super) fn levels_into(&mut self, out: &mut Vec<Level>) -> io::Result<()> {
        let n = self.u32()? as usize;
        let raw = self.take(n.saturating_mul(18))?;
        out.clear();
        for c in raw.chunks_exact(18) {
            out.push((dec_of(&c[..9])?, dec_of(&c[9..])?));
        }
        Ok(())
    }
}
