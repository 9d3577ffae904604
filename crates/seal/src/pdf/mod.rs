//! Just enough PDF for sealing and for judging what changed after a seal:
//! objects, cross-reference chains, incremental updates.

mod document;
mod object;
pub mod paint;
mod write;

pub use document::{is_revision_end, last_startxref, Document, Entry, Repair, Section};
pub use object::{find, rfind, Dict, Lexer, ObjRef, Object, ParseError, Stream};
pub use write::{serialize, Update};

/// A PDF text string: PDFDocEncoding-compatible ASCII as is, anything else
/// as UTF-16BE with a byte-order mark.
pub fn text_string(s: &str) -> Vec<u8> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.as_bytes().to_vec();
    }
    let mut out = vec![0xfe, 0xff];
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
    out
}

/// Decodes a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, or
/// PDFDocEncoding read as Latin-1).
pub fn decode_text(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = b.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    b.iter().map(|&c| char::from(c)).collect()
}
