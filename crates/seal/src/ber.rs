//! BER to DER, as far as CMS from other producers needs it: indefinite
//! lengths become definite, lengths take their shortest form, and
//! universal strings sent in pieces (constructed OCTET STRING and the
//! like) become one primitive string. Everything else is kept byte for
//! byte, so certificates and signed attributes inside stay as they were
//! sent (SETs are not re-sorted: a signature covers the order it was made
//! over).

/// Deepest nesting followed; CMS needs a dozen levels.
const MAX_DEPTH: usize = 64;

use crate::crypto::push_len;

/// `bytes` as DER, with what follows the first element (a PDF's zero
/// padding) dropped. `None` when the bytes are not BER.
pub(crate) fn to_der(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let mut out = Vec::with_capacity(bytes.len());
    element(&mut r, &mut out, 0)?;
    Some(out)
}

/// True when the element at the start of `bytes` is already DER as far as
/// [`to_der`] goes (no indefinite or long-winded length, no pieced string):
/// the common case costs one walk and no copy.
pub(crate) fn is_der(bytes: &[u8]) -> bool {
    let mut r = Reader { buf: bytes, pos: 0 };
    check(&mut r, 0).is_some()
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// One element's identifier and length.
struct Head<'a> {
    /// The identifier octets as sent.
    tag: &'a [u8],
    constructed: bool,
    /// `None` for the indefinite form.
    len: Option<usize>,
    /// The length was sent in its shortest form.
    minimal: bool,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn head(&mut self) -> Option<Head<'a>> {
        let start = self.pos;
        let first = self.byte()?;
        if first & 0x1f == 0x1f {
            loop {
                let b = self.byte()?;
                if b & 0x80 == 0 {
                    break;
                }
                if self.pos - start > 6 {
                    return None;
                }
            }
        }
        let tag = &self.buf[start..self.pos];
        let constructed = first & 0x20 != 0;
        let l = self.byte()?;
        let (len, minimal) = if l < 0x80 {
            (Some(usize::from(l)), true)
        } else if l == 0x80 {
            if !constructed {
                return None;
            }
            (None, true)
        } else {
            let n = usize::from(l & 0x7f);
            if n > 8 {
                return None;
            }
            let mut v: usize = 0;
            for _ in 0..n {
                v = v.checked_mul(256)?.checked_add(usize::from(self.byte()?))?;
            }
            let shortest = if v < 0x80 {
                0
            } else {
                (usize::BITS - v.leading_zeros()).div_ceil(8) as usize
            };
            (Some(v), n == shortest)
        };
        if let Some(len) = len {
            if len > self.buf.len() - self.pos {
                return None;
            }
        }
        Some(Head {
            tag,
            constructed,
            len,
            minimal,
        })
    }

    /// At an end-of-contents marker (`00 00`): consumes it.
    fn end_of_contents(&mut self) -> bool {
        if self.buf.get(self.pos..self.pos + 2) == Some(&[0, 0]) {
            self.pos += 2;
            true
        } else {
            false
        }
    }
}

/// A universal string type that BER lets a sender split into pieces.
fn is_string(tag: &[u8]) -> bool {
    // BIT STRING, OCTET STRING, and the character strings.
    matches!(tag, [0x23 | 0x24 | 0x2c | 0x32..=0x34 | 0x36 | 0x39..=0x3e])
}

fn element(r: &mut Reader<'_>, out: &mut Vec<u8>, depth: usize) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let h = r.head()?;
    if !h.constructed {
        let len = h.len?;
        out.extend_from_slice(h.tag);
        push_len(out, len);
        out.extend_from_slice(r.buf.get(r.pos..r.pos + len)?);
        r.pos += len;
        return Some(());
    }
    let mut body = Vec::new();
    match h.len {
        Some(len) => {
            let end = r.pos + len;
            let mut inner = Reader {
                buf: r.buf.get(..end)?,
                pos: r.pos,
            };
            while inner.pos < end {
                element(&mut inner, &mut body, depth + 1)?;
            }
            r.pos = end;
        }
        None => loop {
            if r.end_of_contents() {
                break;
            }
            element(r, &mut body, depth + 1)?;
        },
    }
    if is_string(h.tag) {
        // The pieces, already DER, are primitive strings of the same type
        // (for a BIT STRING, each with its unused-bits octet).
        let primitive = h.tag[0] & !0x20;
        let bit_string = primitive == 0x03;
        let mut joined = Vec::new();
        let mut unused = 0;
        let mut p = Reader { buf: &body, pos: 0 };
        while p.pos < body.len() {
            let piece = p.head()?;
            if piece.tag != [primitive] {
                return None;
            }
            let len = piece.len?;
            let mut bytes = body.get(p.pos..p.pos + len)?;
            p.pos += len;
            if bit_string {
                let (&u, rest) = bytes.split_first()?;
                unused = u;
                bytes = rest;
            }
            joined.extend_from_slice(bytes);
        }
        out.push(primitive);
        if bit_string {
            push_len(out, joined.len() + 1);
            out.push(unused);
        } else {
            push_len(out, joined.len());
        }
        out.extend_from_slice(&joined);
    } else {
        out.extend_from_slice(h.tag);
        push_len(out, body.len());
        out.extend_from_slice(&body);
    }
    Some(())
}

fn check(r: &mut Reader<'_>, depth: usize) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let h = r.head()?;
    let len = h.len?;
    if !h.minimal || (h.constructed && is_string(h.tag)) {
        return None;
    }
    let end = r.pos + len;
    if h.constructed {
        let mut inner = Reader {
            buf: r.buf.get(..end)?,
            pos: r.pos,
        };
        while inner.pos < end {
            check(&mut inner, depth + 1)?;
        }
    }
    r.pos = end;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indefinite_lengths_and_pieces_become_der() {
        // SEQUENCE (indefinite) { OCTET STRING in two pieces, INTEGER 5 }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x02,
            0x81, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00,
        ];
        assert!(!is_der(&ber));
        let der = to_der(&ber).unwrap();
        assert_eq!(
            der,
            [0x30, 0x08, 0x04, 0x03, b'a', b'b', b'c', 0x02, 0x01, 0x05]
        );
        assert!(is_der(&der));
        assert_eq!(to_der(&der).unwrap(), der);
    }

    #[test]
    fn sets_keep_their_order_and_bad_input_is_refused() {
        let unsorted = [0x31, 0x06, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01];
        assert!(is_der(&unsorted));
        assert_eq!(to_der(&unsorted).unwrap(), unsorted);
        for bad in [
            &[0x30, 0x80, 0x02, 0x01][..],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x30, 0x05, 0x02, 0x01],
            &[0x24, 0x03, 0x02, 0x01, 0x00],
        ] {
            assert!(to_der(bad).is_none(), "{bad:02x?}");
        }
        let mut deep = [0x30, 0x80].repeat(100);
        deep.extend([0; 200]);
        assert!(to_der(&deep).is_none());
    }
}
