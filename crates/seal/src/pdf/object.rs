//! PDF objects and a strict, bounded parser for them (ISO 32000-1 §7.3).
//!
//! The parser never panics on any input: every index is checked, nesting is
//! bounded and every failure is a [`ParseError`] carrying the offset.

use std::ops::Range;

/// Deepest nesting of arrays and dictionaries accepted.
const MAX_DEPTH: usize = 64;

/// An object identifier: number and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub num: u32,
    pub gen: u16,
}

/// A dictionary, keys in file order (names without the slash).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dict(pub Vec<(Vec<u8>, Object)>);

impl Dict {
    pub fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn set(&mut self, key: &[u8], value: Object) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_vec(), value)),
        }
    }

    pub fn remove(&mut self, key: &[u8]) {
        self.0.retain(|(k, _)| k != key);
    }

    pub fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key) {
            Some(Object::Name(n)) => Some(n),
            _ => None,
        }
    }

    pub fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Object::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn reference(&self, key: &[u8]) -> Option<ObjRef> {
        match self.get(key) {
            Some(Object::Ref(r)) => Some(*r),
            _ => None,
        }
    }

    /// Same entries regardless of order.
    pub fn same_as(&self, other: &Dict) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|o| o.same_as(v)))
    }
}

/// A stream: its dictionary and where its raw (still encoded) bytes lie.
#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    pub dict: Dict,
    pub data: Range<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Object>),
    Dict(Dict),
    /// Only as the top-level object of an indirect object.
    Stream(Stream),
    Ref(ObjRef),
}

impl Object {
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Structural equality where dictionary order does not matter and
    /// streams compare by their raw bytes (see [`Object::same_in`]).
    pub fn same_as(&self, other: &Object) -> bool {
        match (self, other) {
            (Object::Dict(a), Object::Dict(b)) => a.same_as(b),
            (Object::Array(a), Object::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            (Object::Int(a), Object::Real(b)) | (Object::Real(b), Object::Int(a)) => {
                (*a as f64) == *b
            }
            (Object::Stream(a), Object::Stream(b)) => a.dict.same_as(&b.dict),
            _ => self == other,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub what: &'static str,
}

pub type ParseResult<T> = Result<T, ParseError>;

fn err<T>(offset: usize, what: &'static str) -> ParseResult<T> {
    Err(ParseError { offset, what })
}

pub fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

pub fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

pub(crate) fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delim(b)
}

/// A cursor over PDF bytes.
#[derive(Debug)]
pub struct Lexer<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Lexer<'a> {
    /// A position past the end reads as the end (offsets come from
    /// untrusted cross-reference tables).
    pub fn new(buf: &'a [u8], pos: usize) -> Self {
        Lexer {
            buf,
            pos: pos.min(buf.len()),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A bare keyword or number token.
    pub fn token(&mut self) -> &'a [u8] {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    pub fn expect_keyword(&mut self, kw: &[u8]) -> ParseResult<()> {
        let at = self.pos;
        if self.token() == kw {
            Ok(())
        } else {
            err(at, "expected keyword")
        }
    }

    pub fn unsigned(&mut self) -> ParseResult<u64> {
        let at = self.pos;
        let tok = self.token();
        parse_unsigned(tok).ok_or(ParseError {
            offset: at,
            what: "expected an unsigned integer",
        })
    }

    /// Parses one object; `n R` references are recognised.
    pub fn object(&mut self) -> ParseResult<Object> {
        self.object_at_depth(0)
    }

    fn object_at_depth(&mut self, depth: usize) -> ParseResult<Object> {
        if depth > MAX_DEPTH {
            return err(self.pos, "nesting too deep");
        }
        self.skip_ws();
        let start = self.pos;
        let Some(b) = self.peek() else {
            return err(start, "unexpected end of data");
        };
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name_body()))
            }
            b'(' => self.literal_string().map(Object::Str),
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    self.dict_body(depth).map(Object::Dict)
                } else {
                    self.hex_string().map(Object::Str)
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        None => return err(start, "unterminated array"),
                        _ => items.push(self.object_at_depth(depth + 1)?),
                    }
                }
            }
            _ if is_regular(b) => {
                let tok = self.token();
                match tok {
                    b"null" => Ok(Object::Null),
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    _ => {
                        if let Some(num) = parse_unsigned(tok) {
                            // Possibly `num gen R`.
                            let save = self.pos;
                            if let Ok(gen) = self.unsigned() {
                                let kw_at = self.pos;
                                if self.token() == b"R" {
                                    let (Ok(num), Ok(gen)) =
                                        (u32::try_from(num), u16::try_from(gen))
                                    else {
                                        return err(kw_at, "object number out of range");
                                    };
                                    return Ok(Object::Ref(ObjRef { num, gen }));
                                }
                            }
                            self.pos = save;
                            return i64::try_from(num)
                                .map(Object::Int)
                                .or(err(start, "integer out of range"));
                        }
                        parse_number(tok).ok_or(ParseError {
                            offset: start,
                            what: "unexpected token",
                        })
                    }
                }
            }
            _ => err(start, "unexpected delimiter"),
        }
    }

    fn name_body(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if !is_regular(b) {
                break;
            }
            self.pos += 1;
            if b == b'#' {
                let hex = (
                    self.buf.get(self.pos).and_then(|c| hex_val(*c)),
                    self.buf.get(self.pos + 1).and_then(|c| hex_val(*c)),
                );
                if let (Some(h), Some(l)) = hex {
                    out.push(h << 4 | l);
                    self.pos += 2;
                    continue;
                }
            }
            out.push(b);
        }
        out
    }

    fn dict_body(&mut self, depth: usize) -> ParseResult<Dict> {
        let start = self.pos;
        let mut dict = Dict::default();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'>') if self.buf.get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    return Ok(dict);
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name_body();
                    let value = self.object_at_depth(depth + 1)?;
                    // A later duplicate key is ignored, as most readers do.
                    if dict.get(&key).is_none() {
                        dict.0.push((key, value));
                    }
                }
                None => return err(start, "unterminated dictionary"),
                _ => return err(self.pos, "expected a name as dictionary key"),
            }
        }
    }

    fn literal_string(&mut self) -> ParseResult<Vec<u8>> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let mut nesting = 1usize;
        loop {
            let Some(b) = self.peek() else {
                return err(start, "unterminated string");
            };
            self.pos += 1;
            match b {
                b'(' => {
                    nesting += 1;
                    out.push(b);
                }
                b')' => {
                    nesting -= 1;
                    if nesting == 0 {
                        return Ok(out);
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return err(start, "unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn hex_string(&mut self) -> ParseResult<Vec<u8>> {
        let start = self.pos;
        self.pos += 1;
        let Some(len) = memchr::memchr(b'>', &self.buf[self.pos..]) else {
            return err(start, "unterminated hex string");
        };
        let body = &self.buf[self.pos..self.pos + len];
        self.pos += len + 1;
        let mut out = Vec::with_capacity(body.len() / 2 + 1);
        let mut high: Option<u8> = None;
        let mut i = 0;
        while i < body.len() {
            // Fastest path: runs of sixteen hex digits (a signature's
            // /Contents is thousands of them), looked up without a branch
            // per digit; taken again after each line break.
            while high.is_none() {
                let Some(Ok(chunk)) = body.get(i..i + 16).map(<&[u8; 16]>::try_from) else {
                    break;
                };
                // The zero padding after a signature is half of many.
                if chunk == b"0000000000000000" {
                    out.extend_from_slice(&[0; 8]);
                    i += 16;
                    continue;
                }
                let mut bytes = [0u8; 8];
                let mut bad = 0u8;
                for (k, b) in bytes.iter_mut().enumerate() {
                    let h = HEX[usize::from(chunk[2 * k])];
                    let l = HEX[usize::from(chunk[2 * k + 1])];
                    bad |= h | l;
                    *b = h << 4 | l;
                }
                if bad & 0xf0 != 0 {
                    break;
                }
                out.extend_from_slice(&bytes);
                i += 16;
            }
            if i >= body.len() {
                break;
            }
            // Fast path: two hex digits in a row.
            if high.is_none() && i + 1 < body.len() {
                if let (Some(h), Some(l)) = (hex_val(body[i]), hex_val(body[i + 1])) {
                    out.push(h << 4 | l);
                    i += 2;
                    continue;
                }
            }
            let b = body[i];
            i += 1;
            if is_white(b) {
                continue;
            }
            let Some(v) = hex_val(b) else {
                return err(start + 1 + i - 1, "bad hex digit");
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        Ok(out)
    }
}

pub fn hex_val(b: u8) -> Option<u8> {
    match HEX[usize::from(b)] {
        0xff => None,
        v => Some(v),
    }
}

/// Hex digit values; 0xff for anything else.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

pub fn parse_unsigned(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 19 || !tok.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(tok).ok()?.parse().ok()
}

pub(crate) fn parse_number(tok: &[u8]) -> Option<Object> {
    let s = std::str::from_utf8(tok).ok()?;
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit() || b"+-.".contains(&c)) {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Object::Int(i));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Object::Real)
}

/// Parses `num gen obj <object> [stream…endstream] endobj` at `offset`.
///
/// `length` resolves an indirect `/Length`; when it cannot, the stream ends
/// at the first `endstream`.
pub fn indirect_object(
    buf: &[u8],
    offset: usize,
    length: &dyn Fn(ObjRef) -> Option<i64>,
) -> ParseResult<(ObjRef, Object)> {
    let mut lx = Lexer::new(buf, offset);
    let num = lx.unsigned()?;
    let gen = lx.unsigned()?;
    lx.expect_keyword(b"obj")?;
    let id = match (u32::try_from(num), u16::try_from(gen)) {
        (Ok(num), Ok(gen)) => ObjRef { num, gen },
        _ => return err(offset, "object number out of range"),
    };
    let obj = lx.object()?;
    let after_obj = lx.pos;
    let kw = lx.token();
    if kw == b"stream" {
        let Object::Dict(dict) = obj else {
            return err(after_obj, "stream without a dictionary");
        };
        // `stream` is followed by CRLF or LF (CR alone tolerated).
        let mut data_start = lx.pos;
        match buf.get(data_start) {
            Some(b'\r') if buf.get(data_start + 1) == Some(&b'\n') => data_start += 2,
            Some(b'\r' | b'\n') => data_start += 1,
            _ => {}
        }
        let declared = match dict.get(b"Length") {
            Some(Object::Int(n)) => Some(*n),
            Some(Object::Ref(r)) => length(*r),
            _ => None,
        };
        let by_length = declared
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| data_start.checked_add(n))
            .filter(|end| *end <= buf.len())
            .filter(|end| {
                let mut l = Lexer::new(buf, *end);
                l.token() == b"endstream"
            });
        let data_end = match by_length {
            Some(end) => end,
            None => {
                let Some(at) = find(&buf[data_start..], b"endstream") else {
                    return err(data_start, "stream without endstream");
                };
                let mut end = data_start + at;
                // The EOL before endstream is not part of the data.
                if end > data_start && buf[end - 1] == b'\n' {
                    end -= 1;
                }
                if end > data_start && buf[end - 1] == b'\r' {
                    end -= 1;
                }
                end
            }
        };
        let mut l = Lexer::new(buf, data_end);
        l.expect_keyword(b"endstream")?;
        l.expect_keyword(b"endobj")?;
        return Ok((
            id,
            Object::Stream(Stream {
                dict,
                data: data_start..data_end,
            }),
        ));
    }
    if kw != b"endobj" {
        return err(after_obj, "expected endobj");
    }
    Ok((id, obj))
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Object {
        Lexer::new(s.as_bytes(), 0).object().unwrap()
    }

    #[test]
    fn parses_the_basic_objects() {
        assert_eq!(parse("12 0 R"), Object::Ref(ObjRef { num: 12, gen: 0 }));
        assert_eq!(parse("12 0"), Object::Int(12));
        assert_eq!(parse("-3.5"), Object::Real(-3.5));
        assert_eq!(parse("(a\\(b\\)c\\101)"), Object::Str(b"a(b)cA".to_vec()));
        assert_eq!(parse("<48 65 6>"), Object::Str(b"He`".to_vec()));
        assert_eq!(parse("/A#20B"), Object::Name(b"A B".to_vec()));
        let d = parse("<< /Type /Page /Kids [1 0 R 2 0 R] /N null >>");
        let d = d.as_dict().unwrap();
        assert_eq!(d.name(b"Type"), Some(&b"Page"[..]));
        assert_eq!(d.get(b"Kids").unwrap().as_array().unwrap().len(), 2);
    }

    /// Long hex strings take the sixteen-digit path; line breaks, odd
    /// lengths, padding and a bad digit inside a run read as they always
    /// did.
    #[test]
    fn long_hex_strings_read_like_short_ones() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let lines: String = hex
            .as_bytes()
            .chunks(64)
            .map(|l| format!("{}\r\n", std::str::from_utf8(l).unwrap()))
            .collect();
        let mut padded = bytes.clone();
        padded.extend([0; 40]);
        for (text, want) in [
            (format!("<{hex}>"), bytes.clone()),
            (format!("<{}>", hex.to_uppercase()), bytes.clone()),
            (format!("<{lines}>"), bytes.clone()),
            (format!("<{hex}{}>", "0".repeat(80)), padded),
            (format!("<{}>", &hex[..33]), {
                let mut b = bytes[..16].to_vec();
                b.push(bytes[16] & 0xf0);
                b
            }),
        ] {
            assert_eq!(parse(&text), Object::Str(want), "{}", text.len());
        }
        let mut bad = hex.clone();
        bad.replace_range(37..38, "g");
        assert!(Lexer::new(format!("<{bad}>").as_bytes(), 0)
            .object()
            .is_err());
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for s in ["<<", "[[[", "(abc", "<4g>", ")", "]", ""] {
            assert!(Lexer::new(s.as_bytes(), 0).object().is_err(), "{s}");
        }
        let deep = "[".repeat(1000);
        assert!(Lexer::new(deep.as_bytes(), 0).object().is_err());
    }

    #[test]
    fn reads_a_stream_with_an_indirect_length() {
        let pdf = b"4 0 obj << /Length 5 0 R >> stream\nHELLO\nendstream endobj";
        let (id, obj) = indirect_object(pdf, 0, &|_| Some(5)).unwrap();
        assert_eq!(id.num, 4);
        let Object::Stream(s) = obj else { panic!() };
        assert_eq!(&pdf[s.data], b"HELLO");
        let (_, obj) = indirect_object(pdf, 0, &|_| None).unwrap();
        let Object::Stream(s) = obj else { panic!() };
        assert_eq!(&pdf[s.data], b"HELLO");
    }
}
