//! A PDF file as its chain of cross-reference sections (one per revision),
//! with lazy resolution of objects as they stood at any revision.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;

use super::object::{
    find, indirect_object, parse_unsigned, rfind, Dict, Lexer, ObjRef, Object, ParseError,
    ParseResult, Stream,
};

/// Most cross-reference sections followed before giving up.
const MAX_SECTIONS: usize = 4096;
/// Largest decoded stream accepted (a bound against decompression bombs).
const MAX_DECODED: u64 = 64 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Free,
    InUse { offset: usize, gen: u16 },
    Compressed { stream: u32, index: u32 },
}

/// One cross-reference section with its trailer: one revision of the file.
#[derive(Clone, Debug)]
pub struct Section {
    /// Where the `xref` keyword or the xref stream object starts.
    pub offset: usize,
    pub trailer: Dict,
    pub entries: HashMap<u32, Entry>,
    pub is_stream: bool,
}

/// How a damaged file was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repair {
    /// The cross-reference sections were found where they are, not where
    /// the file said: the chain of revisions is intact.
    Located(&'static str),
    /// No usable chain: every object found by scanning, one revision.
    Rebuilt(&'static str),
}

/// A parsed PDF: its bytes and its sections, newest first.
#[derive(Debug)]
pub struct Document<'a> {
    pub buf: &'a [u8],
    pub sections: Vec<Section>,
    /// Set when the file was damaged and read anyway
    /// ([`Document::parse_repairing`]).
    pub repair: Option<Repair>,
    /// Objects already parsed, by file offset: validation looks at the
    /// same few objects from several angles.
    parsed: RefCell<HashMap<usize, Object>>,
}

impl<'a> Document<'a> {
    /// Reads the section chain starting from the last `startxref`.
    pub fn parse(buf: &'a [u8]) -> ParseResult<Self> {
        if !buf.starts_with(b"%PDF-") {
            // Some writers put junk first; it must still be near the start.
            match find(&buf[..buf.len().min(1024)], b"%PDF-") {
                Some(_) => {}
                None => {
                    return Err(ParseError {
                        offset: 0,
                        what: "no %PDF- header",
                    })
                }
            }
        }
        let start = last_startxref(buf)?;
        let mut doc = Document {
            buf,
            sections: Vec::new(),
            repair: None,
            parsed: RefCell::default(),
        };
        let mut next = Some(start);
        let mut seen = Vec::new();
        while let Some(offset) = next {
            if seen.contains(&offset) || doc.sections.len() >= MAX_SECTIONS {
                return Err(ParseError {
                    offset,
                    what: "cross-reference chain loops",
                });
            }
            seen.push(offset);
            let mut section = doc.read_section(offset)?;
            // A hybrid file's /XRefStm adds entries the table lacks.
            if let Some(x) = section.trailer.int(b"XRefStm") {
                let x = usize::try_from(x).map_err(|_| ParseError {
                    offset,
                    what: "bad /XRefStm",
                })?;
                if let Ok(extra) = doc.read_section(x) {
                    for (num, e) in extra.entries {
                        section.entries.entry(num).or_insert(e);
                    }
                }
            }
            next = match section.trailer.get(b"Prev") {
                Some(Object::Int(p)) => Some(usize::try_from(*p).map_err(|_| ParseError {
                    offset,
                    what: "bad /Prev",
                })?),
                _ => None,
            };
            doc.sections.push(section);
        }
        Ok(doc)
    }

    /// Like [`Document::parse`], but a file whose cross-references are
    /// damaged (a `startxref` off or past the end, a `/Prev` that points at
    /// nothing) is read as peers read it: the sections found where they
    /// are, or failing that every object found by scanning. `repair` says
    /// which.
    pub fn parse_repairing(buf: &'a [u8]) -> ParseResult<Self> {
        let err = match Self::parse(buf) {
            Ok(doc) => return Ok(doc),
            Err(e) => e,
        };
        if find(&buf[..buf.len().min(1024)], b"%PDF-").is_none() {
            return Err(err);
        }
        let mut doc = Document {
            buf,
            sections: Vec::new(),
            repair: None,
            parsed: RefCell::default(),
        };
        let starts = doc.section_starts();
        if let Some(chain) = doc.located_chain(&starts) {
            doc.sections = chain;
            doc.repair = Some(Repair::Located(
                "its cross-references were not where the file said; they were found by their position",
            ));
            return Ok(doc);
        }
        match doc.rebuilt() {
            Some(section) => {
                doc.sections = vec![section];
                doc.repair = Some(Repair::Rebuilt(
                    "its cross-references are unusable; its objects were found by scanning the file",
                ));
                Ok(doc)
            }
            None => Err(err),
        }
    }

    /// Offsets where a cross-reference section can be read: `xref`
    /// keywords at the start of a line and cross-reference streams.
    fn section_starts(&self) -> Vec<usize> {
        let buf = self.buf;
        let mut out = Vec::new();
        let mut at = 0;
        // Each candidate is read in full: a bound keeps a hostile file
        // from making that quadratic.
        let mut tried = 0;
        while let Some(p) = find(&buf[at..], b"xref") {
            let pos = at + p;
            at = pos + 4;
            let line_start = pos == 0 || matches!(buf[pos - 1], b'\n' | b'\r');
            if line_start {
                tried += 1;
                if tried > MAX_SECTIONS {
                    break;
                }
                if self.read_section(pos).is_ok() {
                    out.push(pos);
                }
            }
        }
        for (pos, _) in object_headers(buf) {
            let window = &buf[pos..buf.len().min(pos + 512)];
            if find(window, b"/XRef").is_some() {
                tried += 1;
                if tried > 2 * MAX_SECTIONS {
                    break;
                }
                if self.read_section(pos).is_ok() {
                    out.push(pos);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The chain from the section nearest the last `startxref`, each
    /// `/Prev` that points at nothing replaced by the section just before.
    fn located_chain(&self, starts: &[usize]) -> Option<Vec<Section>> {
        let claimed = last_startxref_lenient(self.buf).unwrap_or(self.buf.len());
        let first = *starts.iter().min_by_key(|s| s.abs_diff(claimed))?;
        let mut chain: Vec<Section> = Vec::new();
        let mut next = Some(first);
        while let Some(offset) = next {
            if chain.iter().any(|s| s.offset == offset) || chain.len() >= MAX_SECTIONS {
                return None;
            }
            let mut section = self.read_section(offset).ok()?;
            if let Some(x) = section.trailer.int(b"XRefStm") {
                if let Some(extra) = usize::try_from(x)
                    .ok()
                    .and_then(|x| self.read_section(x).ok())
                {
                    for (num, e) in extra.entries {
                        section.entries.entry(num).or_insert(e);
                    }
                }
            }
            next = match section.trailer.get(b"Prev") {
                Some(Object::Int(p)) => {
                    let p = usize::try_from(*p).ok();
                    match p.filter(|p| *p < offset && self.read_section(*p).is_ok()) {
                        Some(p) => Some(p),
                        // The section just before this one.
                        None => starts.iter().rev().find(|s| **s < offset).copied(),
                    }
                }
                _ => None,
            };
            chain.push(section);
        }
        // An object no section lists belongs to an update the chain does
        // not know (its cross-reference lost): a viewer that scans would
        // show it, so only a full rebuild may read this file.
        let listed: std::collections::HashSet<usize> = chain
            .iter()
            .flat_map(|s| s.entries.values())
            .filter_map(|e| match e {
                Entry::InUse { offset, .. } => Some(*offset),
                _ => None,
            })
            .chain(chain.iter().map(|s| s.offset))
            .collect();
        if object_headers(self.buf)
            .iter()
            .any(|(pos, _)| !listed.contains(pos))
        {
            return None;
        }
        Some(chain)
    }

    /// One section holding every object found by scanning (the last
    /// definition of a number wins), with the last trailer found.
    fn rebuilt(&self) -> Option<Section> {
        let buf = self.buf;
        let mut entries = HashMap::new();
        let mut catalog = None;
        for (pos, r) in object_headers(buf) {
            entries.insert(
                r.num,
                Entry::InUse {
                    offset: pos,
                    gen: r.gen,
                },
            );
            let window = &buf[pos..buf.len().min(pos + 256)];
            if find(window, b"/Catalog").is_some() {
                catalog = Some(r);
            }
        }
        let trailer = rfind(buf, b"trailer")
            .and_then(|p| {
                let mut lx = Lexer::new(buf, p + b"trailer".len());
                match lx.object() {
                    Ok(Object::Dict(d)) if d.get(b"Root").is_some() => Some(d),
                    _ => None,
                }
            })
            .or_else(|| {
                let root = catalog?;
                let mut d = Dict::default();
                d.set(b"Root", Object::Ref(root));
                Some(d)
            })?;
        let mut trailer = trailer;
        trailer.remove(b"Prev");
        Some(Section {
            offset: buf.len(),
            trailer,
            entries,
            is_stream: false,
        })
    }

    /// The newest trailer.
    pub fn trailer(&self) -> &Dict {
        &self.sections[0].trailer
    }

    /// Where in the section list an object number is defined, seen from
    /// revision `from` (0 = newest).
    pub fn entry(&self, num: u32, from: usize) -> Option<Entry> {
        self.sections
            .get(from..)?
            .iter()
            .find_map(|s| s.entries.get(&num).copied())
    }

    /// The object as it stood at revision `from`; `Ok(None)` if it does not
    /// exist (free or never defined), which PDF reads as null.
    pub fn object_at(&self, r: ObjRef, from: usize) -> ParseResult<Option<Object>> {
        self.object_at_depth(r, from, 0)
    }

    fn object_at_depth(&self, r: ObjRef, from: usize, depth: usize) -> ParseResult<Option<Object>> {
        if depth > 4 {
            return Err(ParseError {
                offset: 0,
                what: "object streams nest too deep",
            });
        }
        match self.entry(r.num, from) {
            None | Some(Entry::Free) => Ok(None),
            Some(Entry::InUse { offset, .. }) => {
                if let Some(o) = self.parsed.borrow().get(&offset) {
                    return Ok(Some(o.clone()));
                }
                let length = |l: ObjRef| match self.object_at_depth(l, from, depth + 1) {
                    Ok(Some(Object::Int(n))) => Some(n),
                    _ => None,
                };
                let (id, obj) = indirect_object(self.buf, offset, &length)?;
                if id.num != r.num {
                    return Err(ParseError {
                        offset,
                        what: "xref entry points at another object",
                    });
                }
                self.parsed.borrow_mut().insert(offset, obj.clone());
                Ok(Some(obj))
            }
            Some(Entry::Compressed { stream, index }) => {
                let container = ObjRef {
                    num: stream,
                    gen: 0,
                };
                let Some(Object::Stream(s)) = self.object_at_depth(container, from, depth + 1)?
                else {
                    return Err(ParseError {
                        offset: 0,
                        what: "object stream missing",
                    });
                };
                self.object_in_stream(&s, r.num, index).map(Some)
            }
        }
    }

    /// Resolves one level of reference, at revision `from`.
    pub fn resolve(&self, obj: &Object, from: usize) -> ParseResult<Option<Object>> {
        match obj {
            Object::Ref(r) => self.object_at(*r, from),
            other => Ok(Some(other.clone())),
        }
    }

    /// Resolves a value expected to be a dictionary (or stream dictionary).
    pub fn dict(&self, obj: &Object, from: usize) -> ParseResult<Option<Dict>> {
        Ok(match self.resolve(obj, from)? {
            Some(Object::Dict(d)) => Some(d),
            Some(Object::Stream(s)) => Some(s.dict),
            _ => None,
        })
    }

    fn object_in_stream(&self, s: &Stream, num: u32, index: u32) -> ParseResult<Object> {
        let bad = |what| ParseError {
            offset: s.data.start,
            what,
        };
        let data = self.decode(s)?;
        let n = s.dict.int(b"N").ok_or(bad("object stream without /N"))?;
        let first = s
            .dict
            .int(b"First")
            .and_then(|f| usize::try_from(f).ok())
            .ok_or(bad("object stream without /First"))?;
        if i64::from(index) >= n {
            return Err(bad("object index beyond object stream"));
        }
        let mut lx = Lexer::new(&data, 0);
        let mut found = None;
        for i in 0..=index {
            let onum = lx.unsigned()?;
            let off = lx.unsigned()?;
            if i == index {
                found = Some((onum, off));
            }
        }
        let Some((onum, off)) = found else {
            return Err(bad("object index beyond object stream"));
        };
        if onum != u64::from(num) {
            return Err(bad("object stream index names another object"));
        }
        let at = usize::try_from(off)
            .ok()
            .and_then(|o| first.checked_add(o))
            .filter(|a| *a <= data.len())
            .ok_or(bad("object offset beyond object stream"))?;
        let mut lx = Lexer::new(&data, at);
        lx.object()
    }

    /// Decodes a stream's data (FlateDecode with PNG or TIFF-less
    /// predictors, or no filter).
    pub fn decode(&self, s: &Stream) -> ParseResult<Vec<u8>> {
        let raw = &self.buf[s.data.clone()];
        let bad = |what| ParseError {
            offset: s.data.start,
            what,
        };
        let filters: Vec<&[u8]> = match s.dict.get(b"Filter") {
            None => Vec::new(),
            Some(Object::Name(n)) => vec![n.as_slice()],
            Some(Object::Array(a)) => a
                .iter()
                .map(|f| match f {
                    Object::Name(n) => Ok(n.as_slice()),
                    _ => Err(bad("bad /Filter")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(bad("bad /Filter")),
        };
        match filters.as_slice() {
            [] => Ok(raw.to_vec()),
            [f] if *f == b"FlateDecode" || *f == b"Fl" => {
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(raw)
                    .take(MAX_DECODED)
                    .read_to_end(&mut out)
                    .map_err(|_| bad("corrupt FlateDecode data"))?;
                let parms = match s.dict.get(b"DecodeParms") {
                    Some(Object::Dict(d)) => Some(d),
                    Some(Object::Array(a)) => a.first().and_then(Object::as_dict),
                    _ => None,
                };
                match parms {
                    Some(p) if p.int(b"Predictor").unwrap_or(1) >= 10 => {
                        let columns = p.int(b"Columns").unwrap_or(1);
                        let columns = usize::try_from(columns)
                            .ok()
                            .filter(|c| (1..=1 << 20).contains(c))
                            .ok_or(bad("bad /Columns"))?;
                        unpredict_png(&out, columns).ok_or(bad("bad PNG predictor data"))
                    }
                    Some(p) if p.int(b"Predictor").unwrap_or(1) > 1 => {
                        Err(bad("unsupported predictor"))
                    }
                    _ => Ok(out),
                }
            }
            _ => Err(bad("unsupported filter")),
        }
    }

    fn read_section(&self, offset: usize) -> ParseResult<Section> {
        let mut lx = Lexer::new(self.buf, offset);
        if lx.token() == b"xref" {
            return self.read_table(lx.pos, offset);
        }
        let (_, obj) = indirect_object(self.buf, offset, &|_| None)?;
        let Object::Stream(s) = obj else {
            return Err(ParseError {
                offset,
                what: "startxref does not point at a cross-reference",
            });
        };
        if s.dict.name(b"Type") != Some(b"XRef") {
            return Err(ParseError {
                offset,
                what: "startxref does not point at a cross-reference",
            });
        }
        let data = self.decode(&s)?;
        let bad = |what| ParseError { offset, what };
        let w: Vec<usize> = s
            .dict
            .get(b"W")
            .and_then(Object::as_array)
            .ok_or(bad("xref stream without /W"))?
            .iter()
            .map(|o| {
                o.as_int()
                    .and_then(|i| usize::try_from(i).ok())
                    .filter(|i| *i <= 8)
            })
            .collect::<Option<_>>()
            .ok_or(bad("bad /W"))?;
        if w.len() != 3 {
            return Err(bad("bad /W"));
        }
        let size = s
            .dict
            .int(b"Size")
            .ok_or(bad("xref stream without /Size"))?;
        let index: Vec<i64> = match s.dict.get(b"Index") {
            Some(Object::Array(a)) => a
                .iter()
                .map(Object::as_int)
                .collect::<Option<_>>()
                .ok_or(bad("bad /Index"))?,
            _ => vec![0, size],
        };
        let row = w[0] + w[1] + w[2];
        let mut entries = HashMap::new();
        let mut pos = 0usize;
        for pair in index.chunks(2) {
            let [first, count] = pair else {
                return Err(bad("bad /Index"));
            };
            let (Ok(first), Ok(count)) = (u32::try_from(*first), u32::try_from(*count)) else {
                return Err(bad("bad /Index"));
            };
            for i in 0..count {
                if row == 0 || pos + row > data.len() {
                    return Err(bad("xref stream shorter than its /Index"));
                }
                let field = |k: usize, start: usize| -> u64 {
                    data[start..start + w[k]]
                        .iter()
                        .fold(0u64, |acc, b| acc << 8 | u64::from(*b))
                };
                let kind = if w[0] == 0 { 1 } else { field(0, pos) };
                let f2 = field(1, pos + w[0]);
                let f3 = field(2, pos + w[0] + w[1]);
                pos += row;
                let num = first.checked_add(i).ok_or(bad("bad /Index"))?;
                let entry = match kind {
                    0 => Entry::Free,
                    1 => Entry::InUse {
                        offset: usize::try_from(f2).map_err(|_| bad("bad offset"))?,
                        gen: u16::try_from(f3).unwrap_or(u16::MAX),
                    },
                    2 => Entry::Compressed {
                        stream: u32::try_from(f2).map_err(|_| bad("bad object stream number"))?,
                        index: u32::try_from(f3).map_err(|_| bad("bad object stream index"))?,
                    },
                    _ => continue,
                };
                entries.entry(num).or_insert(entry);
            }
        }
        Ok(Section {
            offset,
            trailer: s.dict,
            entries,
            is_stream: true,
        })
    }

    fn read_table(&self, mut pos: usize, offset: usize) -> ParseResult<Section> {
        let mut entries = HashMap::new();
        loop {
            let mut lx = Lexer::new(self.buf, pos);
            let at = lx.pos;
            if lx.token() == b"trailer" {
                let trailer = match lx.object()? {
                    Object::Dict(d) => d,
                    _ => {
                        return Err(ParseError {
                            offset: at,
                            what: "trailer is not a dictionary",
                        })
                    }
                };
                return Ok(Section {
                    offset,
                    trailer,
                    entries,
                    is_stream: false,
                });
            }
            lx.pos = at;
            let first = lx.unsigned()?;
            let count = lx.unsigned()?;
            if count > 10_000_000 {
                return Err(ParseError {
                    offset: at,
                    what: "implausible xref subsection",
                });
            }
            for i in 0..count {
                let off = lx.unsigned()?;
                let gen = lx.unsigned()?;
                let kw_at = lx.pos;
                let kind = lx.token();
                let num = u32::try_from(first + i).map_err(|_| ParseError {
                    offset: kw_at,
                    what: "object number out of range",
                })?;
                let entry = match kind {
                    b"n" => Entry::InUse {
                        offset: usize::try_from(off).map_err(|_| ParseError {
                            offset: kw_at,
                            what: "bad offset",
                        })?,
                        gen: u16::try_from(gen).unwrap_or(u16::MAX),
                    },
                    b"f" => Entry::Free,
                    _ => {
                        return Err(ParseError {
                            offset: kw_at,
                            what: "bad xref entry",
                        })
                    }
                };
                entries.entry(num).or_insert(entry);
            }
            pos = lx.pos;
        }
    }
}

/// The offset that the last `startxref` gives.
pub fn last_startxref(buf: &[u8]) -> ParseResult<usize> {
    let tail_from = buf.len().saturating_sub(2048);
    let at = rfind(&buf[tail_from..], b"startxref")
        .map(|p| p + tail_from)
        .ok_or(ParseError {
            offset: buf.len(),
            what: "no startxref",
        })?;
    let mut lx = Lexer::new(buf, at + b"startxref".len());
    let tok = lx.token();
    let off = parse_unsigned(tok).ok_or(ParseError {
        offset: at,
        what: "bad startxref",
    })?;
    usize::try_from(off)
        .ok()
        .filter(|o| *o < buf.len())
        .ok_or(ParseError {
            offset: at,
            what: "startxref beyond the file",
        })
}

/// The last `startxref`'s number, even when it points past the file.
fn last_startxref_lenient(buf: &[u8]) -> Option<usize> {
    let tail_from = buf.len().saturating_sub(2048);
    let at = rfind(&buf[tail_from..], b"startxref")? + tail_from;
    let mut lx = Lexer::new(buf, at + b"startxref".len());
    parse_unsigned(lx.token()).and_then(|o| usize::try_from(o).ok())
}

/// Every `num gen obj` at the start of a line, with its position.
fn object_headers(buf: &[u8]) -> Vec<(usize, ObjRef)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(p) = find(&buf[at..], b"obj") {
        let kw = at + p;
        at = kw + 3;
        // Back over "gen", a space, "num" to the start of the line.
        let mut i = kw;
        let mut fields = 0;
        while fields < 2 {
            while i > 0 && matches!(buf[i - 1], b' ' | b'\t') {
                i -= 1;
            }
            let end = i;
            while i > 0 && buf[i - 1].is_ascii_digit() {
                i -= 1;
            }
            if i == end {
                break;
            }
            fields += 1;
        }
        if fields != 2 || !(i == 0 || matches!(buf[i - 1], b'\n' | b'\r')) {
            continue;
        }
        let mut lx = Lexer::new(buf, i);
        let (Ok(num), Ok(gen)) = (lx.unsigned(), lx.unsigned()) else {
            continue;
        };
        if lx.expect_keyword(b"obj").is_err() {
            continue;
        }
        if let (Ok(num), Ok(gen)) = (u32::try_from(num), u16::try_from(gen)) {
            out.push((i, ObjRef { num, gen }));
        }
    }
    out
}

/// Whether `end` is just past an `%%EOF` marker (and its end-of-line):
/// the end of a revision.
pub fn is_revision_end(buf: &[u8], end: usize) -> bool {
    let Some(head) = buf.get(..end) else {
        return false;
    };
    let head = head
        .strip_suffix(b"\r\n")
        .or_else(|| head.strip_suffix(b"\n"))
        .or_else(|| head.strip_suffix(b"\r"))
        .unwrap_or(head);
    head.ends_with(b"%%EOF")
}

fn unpredict_png(data: &[u8], columns: usize) -> Option<Vec<u8>> {
    let row = columns + 1;
    let mut out = Vec::with_capacity(data.len() / row * columns);
    let mut prev = vec![0u8; columns];
    for chunk in data.chunks(row) {
        if chunk.len() != row {
            break;
        }
        let (kind, src) = (chunk[0], &chunk[1..]);
        let mut cur = vec![0u8; columns];
        for i in 0..columns {
            let left = if i > 0 { cur[i - 1] } else { 0 };
            let up = prev[i];
            let up_left = if i > 0 { prev[i - 1] } else { 0 };
            cur[i] = match kind {
                0 => src[i],
                1 => src[i].wrapping_add(left),
                2 => src[i].wrapping_add(up),
                3 => src[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => src[i].wrapping_add(paeth(left, up, up_left)),
                _ => return None,
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Some(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}
