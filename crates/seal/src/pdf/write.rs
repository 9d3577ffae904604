//! Serialising objects and appending incremental updates (ISO 32000-1
//! §7.5.6): the original bytes are never touched.

use std::io::Write;

use super::document::Document;
use super::object::{is_delim, is_white, Dict, ObjRef, Object};

/// Writes an object in PDF syntax.
pub fn serialize(obj: &Object, out: &mut Vec<u8>) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Object::Real(f) => {
            let _ = write!(out, "{f:.6}");
            while out.last() == Some(&b'0') {
                out.pop();
            }
            if out.last() == Some(&b'.') {
                out.pop();
            }
        }
        Object::Str(s) => {
            out.push(b'<');
            for b in s {
                let _ = write!(out, "{b:02X}");
            }
            out.push(b'>');
        }
        Object::Name(n) => write_name(n, out),
        Object::Array(a) => {
            out.push(b'[');
            for (i, o) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                serialize(o, out);
            }
            out.push(b']');
        }
        Object::Dict(d) => serialize_dict(d, out),
        Object::Stream(_) => {
            // Streams are copied by reference, never re-serialised inline.
            out.extend_from_slice(b"null");
        }
        Object::Ref(r) => {
            let _ = write!(out, "{} {} R", r.num, r.gen);
        }
    }
}

pub fn serialize_dict(d: &Dict, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        write_name(k, out);
        out.push(b' ');
        serialize(v, out);
    }
    out.extend_from_slice(b">>");
}

fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in n {
        if b == b'#' || is_white(b) || is_delim(b) || !(0x21..=0x7e).contains(&b) {
            let _ = write!(out, "#{b:02X}");
        } else {
            out.push(b);
        }
    }
}

/// An incremental update being assembled after `base`.
#[derive(Debug)]
pub struct Update {
    pub out: Vec<u8>,
    offsets: Vec<(u32, u16, usize)>,
    next_num: u32,
}

impl Update {
    /// Starts an update after the whole of `base`.
    pub fn new(base: &[u8], doc: &Document<'_>) -> Self {
        let mut out = Vec::with_capacity(base.len() + 32 * 1024);
        out.extend_from_slice(base);
        if !base.ends_with(b"\n") && !base.ends_with(b"\r") {
            out.push(b'\n');
        }
        let size = doc.trailer().int(b"Size").unwrap_or(0).max(0);
        let highest = doc
            .sections
            .iter()
            .flat_map(|s| s.entries.keys())
            .max()
            .map_or(0, |m| i64::from(*m) + 1);
        Update {
            out,
            offsets: Vec::new(),
            next_num: u32::try_from(size.max(highest)).unwrap_or(u32::MAX),
        }
    }

    /// A fresh object number.
    pub fn allocate(&mut self) -> ObjRef {
        let r = ObjRef {
            num: self.next_num,
            gen: 0,
        };
        self.next_num += 1;
        r
    }

    /// Starts writing object `r`; the caller writes its body to `out`.
    pub fn begin(&mut self, r: ObjRef) {
        self.offsets.push((r.num, r.gen, self.out.len()));
        let _ = writeln!(self.out, "{} {} obj", r.num, r.gen);
    }

    pub fn end(&mut self) {
        self.out.extend_from_slice(b"\nendobj\n");
    }

    pub fn object(&mut self, r: ObjRef, obj: &Object) {
        self.begin(r);
        serialize(obj, &mut self.out);
        self.end();
    }

    /// Writes the cross-reference section and trailer in the same form as
    /// the previous revision, and returns the finished file.
    pub fn finish(mut self, doc: &Document<'_>) -> Vec<u8> {
        let prev = doc.sections[0].offset;
        let old = doc.trailer();
        let mut trailer = Dict::default();
        for key in [&b"Root"[..], b"Info", b"ID", b"Encrypt"] {
            if let Some(v) = old.get(key) {
                trailer.set(key, v.clone());
            }
        }
        trailer.set(b"Prev", Object::Int(prev as i64));
        self.offsets.sort_by_key(|o| o.0);
        if doc.sections[0].is_stream {
            let me = self.allocate();
            let xref_at = self.out.len();
            self.offsets.push((me.num, 0, xref_at));
            let mut index = Vec::new();
            let mut rows = Vec::new();
            let mut i = 0;
            while i < self.offsets.len() {
                let start = self.offsets[i].0;
                let mut j = i;
                while j + 1 < self.offsets.len() && self.offsets[j + 1].0 == self.offsets[j].0 + 1 {
                    j += 1;
                }
                index.push(Object::Int(i64::from(start)));
                index.push(Object::Int((j - i + 1) as i64));
                for &(_, gen, off) in &self.offsets[i..=j] {
                    rows.push(1u8);
                    rows.extend_from_slice(&(off as u32).to_be_bytes());
                    rows.extend_from_slice(&gen.to_be_bytes());
                }
                i = j + 1;
            }
            trailer.set(b"Type", Object::Name(b"XRef".to_vec()));
            trailer.set(b"Size", Object::Int(i64::from(self.next_num)));
            trailer.set(
                b"W",
                Object::Array(vec![Object::Int(1), Object::Int(4), Object::Int(2)]),
            );
            trailer.set(b"Index", Object::Array(index));
            trailer.set(b"Length", Object::Int(rows.len() as i64));
            let _ = writeln!(self.out, "{} 0 obj", me.num);
            serialize_dict(&trailer, &mut self.out);
            self.out.extend_from_slice(b"\nstream\n");
            self.out.extend_from_slice(&rows);
            self.out.extend_from_slice(b"\nendstream\nendobj\n");
            let _ = write!(self.out, "startxref\n{xref_at}\n%%EOF\n");
        } else {
            let xref_at = self.out.len();
            self.out.extend_from_slice(b"xref\n");
            let mut i = 0;
            while i < self.offsets.len() {
                let mut j = i;
                while j + 1 < self.offsets.len() && self.offsets[j + 1].0 == self.offsets[j].0 + 1 {
                    j += 1;
                }
                let _ = writeln!(self.out, "{} {}", self.offsets[i].0, j - i + 1);
                for &(_, gen, off) in &self.offsets[i..=j] {
                    let _ = write!(self.out, "{off:010} {gen:05} n\r\n");
                }
                i = j + 1;
            }
            trailer.set(b"Size", Object::Int(i64::from(self.next_num)));
            self.out.extend_from_slice(b"trailer\n");
            serialize_dict(&trailer, &mut self.out);
            let _ = write!(self.out, "\nstartxref\n{xref_at}\n%%EOF\n");
        }
        self.out
    }
}
