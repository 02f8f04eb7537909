//! Little-endian packing primitives of AccessToken2 (spec §2), writer and bounded reader.

use crate::TokenError;

pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Writer(Vec::with_capacity(n))
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// Callers guarantee `b.len() <= u16::MAX` (checked where user input enters).
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.u16(b.len() as u16);
        self.0.extend_from_slice(b);
    }
    pub(crate) fn map<'a>(&mut self, entries: impl ExactSizeIterator<Item = (&'a u16, &'a u32)>) {
        self.u16(entries.len() as u16);
        for (k, v) in entries {
            self.u16(*k);
            self.u32(*v);
        }
    }
}

/// Reads from untrusted bytes: every read is bounds-checked and names the field it was for.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], TokenError> {
        if self.remaining() < n {
            return Err(TokenError::Truncated { field });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, TokenError> {
        let b = self.take(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, TokenError> {
        let b = self.take(2, field)?;
        Ok(i16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, TokenError> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], TokenError> {
        let n = self.u16(field)? as usize;
        self.take(n, field)
    }
    pub(crate) fn string(&mut self, field: &'static str) -> Result<String, TokenError> {
        let b = self.bytes(field)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| TokenError::NotUtf8 { field })
    }
}
