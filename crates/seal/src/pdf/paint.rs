//! Where a page's content paints: the boxes (in default user space) of
//! its text, filled and stroked paths, images and forms, as a conservative
//! outline, cut to the clipping paths and form bounding boxes in force.
//! Text is as wide as its font's /Widths (simple fonts) or /W (Identity
//! CID fonts) say, a full em per byte when the font does not say; white
//! fills are left out. Enough to tell whether something added later
//! covers what was signed.

use std::collections::HashMap;
use std::rc::Rc;

use super::object::{is_regular, parse_number, Dict, Lexer, Object};
use super::Document;

/// `[x0, y0, x1, y1]`, x0 ≤ x1 and y0 ≤ y1.
pub type Rect = [f64; 4];

/// Most operators read on one page (a bound against hostile streams).
const MAX_OPS: usize = 2_000_000;
/// Deepest form XObject nesting followed.
const MAX_FORMS: usize = 8;

type Matrix = [f64; 6];

const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// The box around `r` once transformed by `m`.
fn transform(m: &Matrix, r: Rect) -> Rect {
    let pts = [
        apply(m, r[0], r[1]),
        apply(m, r[2], r[1]),
        apply(m, r[0], r[3]),
        apply(m, r[2], r[3]),
    ];
    let (mut out, rest) = ([pts[0].0, pts[0].1, pts[0].0, pts[0].1], &pts[1..]);
    for (x, y) in rest {
        out = [
            out[0].min(*x),
            out[1].min(*y),
            out[2].max(*x),
            out[3].max(*y),
        ];
    }
    out
}

pub fn intersects(a: &Rect, b: &Rect) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// What `a` and `b` share, if anything.
fn intersection(a: &Rect, b: &Rect) -> Option<Rect> {
    let r = [
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ];
    (r[0] <= r[2] && r[1] <= r[3]).then_some(r)
}

/// Where something may be when nothing says where.
const EVERYWHERE: Rect = [
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
    f64::INFINITY,
    f64::INFINITY,
];

/// What no clip leaves visible.
const NOTHING: Rect = [
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
];

/// `clip` narrowed to `r`; a clip that overflowed (NaN) narrows nothing.
fn narrowed(clip: Option<Rect>, r: Rect) -> Option<Rect> {
    if r.iter().any(|v| v.is_nan()) {
        return clip;
    }
    Some(
        clip.map_or(Some(r), |c| intersection(&c, &r))
            .unwrap_or(NOTHING),
    )
}

/// Where a glyph's ink may lie around its origin, in ems, when the font
/// says nothing narrower: a full em wide, from below the baseline to an
/// em above it.
const DEFAULT_INK: Rect = [0.0, -0.3, 1.0, 1.0];

/// What this reader knows of a font: how far each glyph advances, where
/// its ink may lie, and which way its text runs.
#[derive(Debug)]
struct Metrics {
    widths: Widths,
    /// In ems around each glyph's origin: /FontBBox, never narrower than
    /// [`DEFAULT_INK`].
    ink: Rect,
    vertical: Vertical,
}

/// How wide a font's glyphs are, in ems.
#[derive(Debug)]
enum Widths {
    /// The font does not say (or says in a way not read here): a full em
    /// for each byte.
    Unknown,
    /// One byte per glyph, /Widths from /FirstChar; `missing` for codes
    /// outside it.
    Simple {
        first: usize,
        widths: Vec<f64>,
        missing: f64,
    },
    /// Two bytes per glyph (Identity-H/V), /W with /DW for the rest.
    Cid {
        widths: HashMap<u32, f64>,
        default: f64,
    },
}

/// Which way a font's text runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Vertical {
    /// Left to right, by the glyphs' widths.
    No,
    /// Downwards (Identity-V), this many ems a glyph (/DW2).
    Down(f64),
    /// Downwards by amounts per glyph (/W2) not read here.
    DownUnknown,
}

impl Metrics {
    fn unknown() -> Metrics {
        Metrics {
            widths: Widths::Unknown,
            ink: DEFAULT_INK,
            vertical: Vertical::No,
        }
    }

    /// `budget` bounds the widths read over a whole page (a hostile file
    /// may name many fonts with huge tables); past it fonts are Unknown.
    fn of(doc: &Document<'_>, font: &Dict, rev: usize, budget: &mut usize) -> Metrics {
        let resolve = |o: &Object| doc.resolve(o, rev).ok().flatten();
        let descriptor_of = |f: &Dict| {
            f.get(b"FontDescriptor")
                .and_then(|d| doc.dict(d, rev).ok().flatten())
        };
        let ink_of = |descriptor: Option<&Dict>| {
            let b = descriptor
                .and_then(|d| d.get(b"FontBBox").and_then(resolve))
                .and_then(|b| exact_rect_of(&b))
                .filter(|b| b.iter().all(|v| v.is_finite()))
                .map_or(DEFAULT_INK, |b| b.map(|v| v / 1000.0));
            [
                b[0].min(DEFAULT_INK[0]),
                b[1].min(DEFAULT_INK[1]),
                b[2].max(DEFAULT_INK[2]),
                b[3].max(DEFAULT_INK[3]),
            ]
        };
        let (widths, ink, vertical) = match font.name(b"Subtype") {
            Some(b"Type1" | b"TrueType" | b"MMType1") => {
                let descriptor = descriptor_of(font);
                (
                    Widths::simple(font, descriptor.as_ref(), &resolve, budget),
                    ink_of(descriptor.as_ref()),
                    Vertical::No,
                )
            }
            Some(b"Type0") => {
                let vertical = match font.name(b"Encoding") {
                    Some(b"Identity-H") => false,
                    Some(b"Identity-V") => true,
                    _ => return Metrics::unknown(),
                };
                let Some(cid) = font
                    .get(b"DescendantFonts")
                    .and_then(resolve)
                    .and_then(|d| d.as_array().and_then(|a| a.first().cloned()))
                    .and_then(|d| doc.dict(&d, rev).ok().flatten())
                else {
                    return Metrics::unknown();
                };
                let down = || {
                    if cid.get(b"W2").is_some() {
                        return Vertical::DownUnknown;
                    }
                    let dw2 = cid.get(b"DW2").and_then(resolve);
                    let w1y = dw2
                        .as_ref()
                        .and_then(Object::as_array)
                        .and_then(|a| a.get(1).and_then(number))
                        .unwrap_or(-1000.0);
                    Vertical::Down((w1y.abs() / 1000.0).max(1.0))
                };
                (
                    Widths::cid(&cid, &resolve, budget),
                    ink_of(descriptor_of(&cid).as_ref()),
                    if vertical { down() } else { Vertical::No },
                )
            }
            _ => return Metrics::unknown(),
        };
        Metrics {
            widths,
            ink,
            vertical,
        }
    }
}

impl Widths {
    /// A simple font's /Widths (and /MissingWidth), charged to `budget`.
    fn simple(
        font: &Dict,
        descriptor: Option<&Dict>,
        resolve: &dyn Fn(&Object) -> Option<Object>,
        budget: &mut usize,
    ) -> Widths {
        let Some(Object::Array(widths)) = font.get(b"Widths").and_then(resolve) else {
            return Widths::Unknown;
        };
        if widths.len() > *budget {
            return Widths::Unknown;
        }
        *budget -= widths.len();
        let first = font
            .int(b"FirstChar")
            .and_then(|f| usize::try_from(f).ok())
            .unwrap_or(0);
        let missing = descriptor
            .and_then(|d| d.get(b"MissingWidth").and_then(number))
            .filter(|w| *w > 0.0)
            .map_or(1.0, |w| w / 1000.0);
        Widths::Simple {
            first,
            widths: widths
                .iter()
                // A width that is not a number counts as an em.
                .map(|w| {
                    resolve(w)
                        .as_ref()
                        .and_then(number)
                        .map_or(1.0, |w| w.max(0.0) / 1000.0)
                })
                .collect(),
            missing,
        }
    }

    /// A CID font's /W and /DW, charged to `budget`.
    fn cid(cid: &Dict, resolve: &dyn Fn(&Object) -> Option<Object>, budget: &mut usize) -> Widths {
        let default = cid
            .get(b"DW")
            .and_then(number)
            .map_or(1.0, |w| w.max(0.0) / 1000.0);
        let mut widths = HashMap::new();
        if let Some(Object::Array(w)) = cid.get(b"W").and_then(resolve) {
            if w.len() > *budget {
                return Widths::Unknown;
            }
            *budget -= w.len();
            let mut i = 0;
            while i < w.len() && widths.len() < 65_536 {
                let Some(c) = number(&w[i]).filter(|c| (0.0..65_536.0).contains(c)) else {
                    break;
                };
                let c = c as u32;
                match (
                    w.get(i + 1).and_then(resolve),
                    w.get(i + 2).and_then(number),
                ) {
                    (Some(Object::Array(list)), _) => {
                        if list.len() > *budget {
                            return Widths::Unknown;
                        }
                        *budget -= list.len();
                        for (k, v) in list.iter().enumerate() {
                            let width = number(v).unwrap_or(1000.0).max(0.0) / 1000.0;
                            widths.insert(c.saturating_add(k as u32), width);
                        }
                        i += 2;
                    }
                    (Some(last), Some(v)) => {
                        let Some(last) = number(&last).filter(|l| *l >= c as f64 && *l < 65_536.0)
                        else {
                            break;
                        };
                        let span = (last as u32 - c) as usize + 1;
                        if span > *budget {
                            return Widths::Unknown;
                        }
                        *budget -= span;
                        for code in c..=(last as u32) {
                            widths.insert(code, v.max(0.0) / 1000.0);
                        }
                        i += 3;
                    }
                    _ => break,
                }
            }
        }
        Widths::Cid { widths, default }
    }

    /// The glyphs of `s`: each one's width in ems, and whether it is the
    /// single-byte code 32 (which word spacing widens).
    fn glyphs(&self, s: &[u8], out: &mut Vec<(f64, bool)>) {
        match self {
            Widths::Unknown => out.extend(s.iter().map(|b| (1.0, *b == b' '))),
            Widths::Simple {
                first,
                widths,
                missing,
            } => out.extend(s.iter().map(|b| {
                let w = usize::from(*b)
                    .checked_sub(*first)
                    .and_then(|i| widths.get(i))
                    .copied()
                    .unwrap_or(*missing);
                (w, *b == b' ')
            })),
            Widths::Cid { widths, default } => {
                for pair in s.chunks(2) {
                    let code = pair.iter().fold(0u32, |a, b| a << 8 | u32::from(*b));
                    out.push((widths.get(&code).copied().unwrap_or(*default), false));
                }
            }
        }
    }
}

/// A rectangle from a PDF array `[x0 y0 x1 y1]`, in order.
pub fn rect_of(o: &Object) -> Option<Rect> {
    let a = o.as_array()?;
    let n: Vec<f64> = a.iter().filter_map(number).collect();
    let [x0, y0, x1, y1] = <[f64; 4]>::try_from(n).ok()?;
    Some([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)])
}

/// A rectangle from an array of exactly four numbers, in order; `None`
/// for anything else (a box that narrows what is shown must be certain).
fn exact_rect_of(o: &Object) -> Option<Rect> {
    let n: Vec<f64> = o.as_array()?.iter().map(number).collect::<Option<_>>()?;
    let [x0, y0, x1, y1] = <[f64; 4]>::try_from(n).ok()?;
    Some([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)])
}

fn number(o: &Object) -> Option<f64> {
    match o {
        Object::Int(i) => Some(*i as f64),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

#[derive(Clone)]
struct State {
    ctm: Matrix,
    /// What the clipping paths in force leave visible (default user
    /// space); `None` for everything.
    clip: Option<Rect>,
    white_fill: bool,
    white_stroke: bool,
    line_width: f64,
    font: Rc<Metrics>,
    font_size: f64,
    char_spacing: f64,
    word_spacing: f64,
    /// Horizontal scaling, 1.0 for 100 %.
    h_scale: f64,
    rise: f64,
    leading: f64,
    invisible_text: bool,
}

struct Painter<'d, 'a> {
    doc: &'d Document<'a>,
    rev: usize,
    boxes: Vec<Rect>,
    ops: usize,
    /// Fonts read so far, by object.
    fonts: HashMap<super::ObjRef, Rc<Metrics>>,
    /// Width entries fonts may still read (see [`Metrics::of`]).
    width_budget: usize,
}

/// The boxes that `page` (as it stood at revision `rev`) paints.
pub fn painted(doc: &Document<'_>, page: &Dict, rev: usize) -> Vec<Rect> {
    let mut p = Painter {
        doc,
        rev,
        boxes: Vec::new(),
        ops: 0,
        fonts: HashMap::new(),
        width_budget: 200_000,
    };
    let resources = inherited(doc, page, b"Resources", rev)
        .and_then(|r| doc.dict(&r, rev).ok().flatten())
        .unwrap_or_default();
    let mut content = Vec::new();
    let parts = match page.get(b"Contents") {
        Some(c) => match doc.resolve(c, rev).ok().flatten() {
            Some(Object::Array(a)) => a,
            Some(other) => vec![other],
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    for part in parts {
        if let Some(Object::Stream(s)) = doc.resolve(&part, rev).ok().flatten() {
            if let Ok(data) = doc.decode(&s) {
                content.extend_from_slice(&data);
                content.push(b'\n');
            }
        }
    }
    let state = State {
        ctm: IDENTITY,
        clip: None,
        white_fill: false,
        white_stroke: false,
        line_width: 1.0,
        font: Rc::new(Metrics::unknown()),
        font_size: 12.0,
        char_spacing: 0.0,
        word_spacing: 0.0,
        h_scale: 1.0,
        rise: 0.0,
        leading: 0.0,
        invisible_text: false,
    };
    p.run(&content, &resources, state, 0);
    p.boxes
}

/// A page attribute, looked up the page tree as PDF inherits it.
fn inherited(doc: &Document<'_>, page: &Dict, key: &[u8], rev: usize) -> Option<Object> {
    let mut cur = page.clone();
    for _ in 0..32 {
        if let Some(v) = cur.get(key) {
            return Some(v.clone());
        }
        let parent = cur.get(b"Parent")?;
        cur = doc.dict(parent, rev).ok().flatten()?;
    }
    None
}

impl Painter<'_, '_> {
    fn run(&mut self, content: &[u8], resources: &Dict, mut st: State, depth: usize) {
        let mut stack: Vec<State> = Vec::new();
        let mut operands: Vec<Object> = Vec::new();
        let mut path: Option<Rect> = None;
        // `W`/`W*` seen: the path clips once it is painted or ended.
        let mut clipping = false;
        let mut path_suspect = false;
        let mut glyphs = Vec::new();
        let mut tm = IDENTITY;
        let mut tlm = IDENTITY;
        let mut lx = Lexer::new(content, 0);
        loop {
            if self.ops > MAX_OPS {
                return;
            }
            lx.skip_ws();
            let Some(&b) = content.get(lx.pos) else {
                return;
            };
            if !is_regular(b) {
                match lx.object() {
                    Ok(o) => operands.push(o),
                    Err(_) => lx.pos += 1,
                }
                continue;
            }
            let tok = lx.token();
            if let Some(n) = parse_number(tok) {
                operands.push(n);
                continue;
            }
            self.ops += 1;
            let nums: Vec<f64> = operands.iter().filter_map(number).collect();
            // An operator reads the operands nearest it, as viewers do
            // (stack order) when a producer wrote extra ones; a path built
            // from a miscounted operator does not narrow a clip.
            let arity = match tok {
                b"cm" | b"c" | b"Tm" => 6,
                b"re" | b"v" | b"y" | b"k" | b"K" => 4,
                b"rg" | b"RG" => 3,
                b"m" | b"l" | b"Td" | b"TD" | b"\"" => 2,
                _ => 1,
            };
            let n = |i: usize| {
                nums.len()
                    .checked_sub(arity)
                    .and_then(|start| nums.get(start + i))
                    .copied()
                    .unwrap_or(0.0)
            };
            if matches!(tok, b"m" | b"l" | b"c" | b"v" | b"y" | b"re") && nums.len() != arity {
                path_suspect = true;
            }
            match tok {
                // Deeper nesting than any producer writes is ignored.
                b"q" if stack.len() < 256 => stack.push(st.clone()),
                b"Q" => {
                    if let Some(s) = stack.pop() {
                        st = s;
                    }
                }
                b"cm" if nums.len() >= 6 => {
                    st.ctm = mul(&[n(0), n(1), n(2), n(3), n(4), n(5)], &st.ctm);
                }
                b"w" => st.line_width = n(0).abs(),
                b"g" => st.white_fill = n(0) >= 0.999,
                b"G" => st.white_stroke = n(0) >= 0.999,
                b"rg" => st.white_fill = nums.len() >= 3 && (0..3).all(|i| n(i) >= 0.999),
                b"RG" => st.white_stroke = nums.len() >= 3 && (0..3).all(|i| n(i) >= 0.999),
                b"k" => st.white_fill = nums.len() >= 4 && (0..4).all(|i| n(i) <= 0.001),
                b"K" => st.white_stroke = nums.len() >= 4 && (0..4).all(|i| n(i) <= 0.001),
                b"sc" | b"scn" | b"cs" => st.white_fill = false,
                b"SC" | b"SCN" | b"CS" => st.white_stroke = false,
                b"m" | b"l" => grow(&mut path, &st.ctm, &[(n(0), n(1))]),
                b"c" => grow(
                    &mut path,
                    &st.ctm,
                    &[(n(0), n(1)), (n(2), n(3)), (n(4), n(5))],
                ),
                b"v" | b"y" => grow(&mut path, &st.ctm, &[(n(0), n(1)), (n(2), n(3))]),
                // All four corners: under a rotation two say nothing.
                b"re" => {
                    let (x, y, w, h) = (n(0), n(1), n(2), n(3));
                    grow(
                        &mut path,
                        &st.ctm,
                        &[(x, y), (x + w, y), (x, y + h), (x + w, y + h)],
                    );
                }
                b"W" | b"W*" => clipping = true,
                b"f" | b"F" | b"f*" | b"S" | b"s" | b"B" | b"B*" | b"b" | b"b*" | b"n" => {
                    let r = path.take();
                    if let Some(r) = r {
                        let shown = match tok {
                            b"f" | b"F" | b"f*" => !st.white_fill,
                            b"S" | b"s" => !st.white_stroke,
                            b"n" => false,
                            _ => !(st.white_fill && st.white_stroke),
                        };
                        if shown {
                            let w = if matches!(tok, b"S" | b"s") {
                                st.line_width / 2.0
                            } else {
                                0.0
                            };
                            self.push(&st, [r[0] - w, r[1] - w, r[2] + w, r[3] + w]);
                        }
                    }
                    if clipping && !path_suspect {
                        // An empty clipping path leaves nothing visible.
                        st.clip = narrowed(st.clip, r.unwrap_or(NOTHING));
                    }
                    clipping = false;
                    path_suspect = false;
                }
                b"BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                b"Tf" => {
                    st.font_size = n(0);
                    if let Some(Object::Name(name)) = operands.first() {
                        st.font = self.font(resources, name);
                    }
                }
                b"Tc" => st.char_spacing = n(0),
                b"Tw" => st.word_spacing = n(0),
                b"Tz" => st.h_scale = n(0) / 100.0,
                b"Ts" => st.rise = n(0),
                b"TL" => st.leading = n(0),
                b"Tr" => st.invisible_text = n(0) as i64 == 3 || n(0) as i64 == 7,
                b"Tm" if nums.len() == 6 => {
                    tm = [n(0), n(1), n(2), n(3), n(4), n(5)];
                    tlm = tm;
                }
                b"Td" | b"TD" => {
                    if tok == b"TD" {
                        st.leading = -n(1);
                    }
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, n(0), n(1)], &tlm);
                    tm = tlm;
                }
                b"T*" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &tlm);
                    tm = tlm;
                }
                b"Tj" | b"'" | b"\"" | b"TJ" => {
                    if tok == b"\"" {
                        st.word_spacing = n(0);
                        st.char_spacing = n(1);
                    }
                    if tok != b"Tj" && tok != b"TJ" {
                        tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &tlm);
                        tm = tlm;
                    }
                    // In text space: the pen, and the box around every
                    // glyph's ink (signed sizes and scales mirror it).
                    let (fs, th) = (st.font_size, st.h_scale);
                    let (ink, vertical) = (st.font.ink, st.font.vertical);
                    let mut pen = (0.0f64, 0.0f64);
                    let mut bbox: Option<Rect> = None;
                    let cover = |bbox: &mut Option<Rect>, xs: [f64; 2], ys: [f64; 2]| {
                        let r = [
                            xs[0].min(xs[1]),
                            ys[0].min(ys[1]),
                            xs[0].max(xs[1]),
                            ys[0].max(ys[1]),
                        ];
                        *bbox = Some(match bbox {
                            None => r,
                            Some(b) => [
                                b[0].min(r[0]),
                                b[1].min(r[1]),
                                b[2].max(r[2]),
                                b[3].max(r[3]),
                            ],
                        });
                    };
                    let mut show = |s: &[u8], pen: &mut (f64, f64), bbox: &mut Option<Rect>| {
                        glyphs.clear();
                        st.font.widths.glyphs(s, &mut glyphs);
                        for &(w, space) in &glyphs {
                            let (x, y) = *pen;
                            if vertical == Vertical::No {
                                let advance = (w * fs
                                    + st.char_spacing
                                    + if space { st.word_spacing } else { 0.0 })
                                    * th;
                                cover(
                                    bbox,
                                    [x + ink[0] * fs * th, x + ink[2] * fs * th],
                                    [y + ink[1] * fs + st.rise, y + ink[3] * fs + st.rise],
                                );
                                cover(bbox, [x, x + advance], [y, y]);
                                pen.0 += advance;
                            } else {
                                // Glyphs hang around a vertical pen line.
                                let a = fs.abs().max((fs * th).abs());
                                let down = match vertical {
                                    Vertical::Down(em) => em * fs.abs() + st.char_spacing,
                                    _ => 1e6,
                                };
                                cover(bbox, [x - a, x + a], [y - down - a, y + a]);
                                pen.1 -= down;
                            }
                        }
                    };
                    for o in &operands {
                        match o {
                            Object::Str(s) => show(s, &mut pen, &mut bbox),
                            Object::Array(a) => {
                                for item in a {
                                    match item {
                                        Object::Str(s) => show(s, &mut pen, &mut bbox),
                                        other => {
                                            if let Some(v) = number(other) {
                                                if vertical == Vertical::No {
                                                    pen.0 -= v / 1000.0 * fs * th;
                                                } else {
                                                    pen.1 -= v / 1000.0 * fs;
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    if let (false, Some(r)) = (st.invisible_text, bbox) {
                        let m = mul(&tm, &st.ctm);
                        let r = transform(&m, r);
                        self.push(&st, r);
                    }
                    tm = mul(&[1.0, 0.0, 0.0, 1.0, pen.0, pen.1], &tm);
                }
                b"Do" => {
                    if let Some(Object::Name(name)) = operands.first() {
                        self.xobject(name, resources, &st, depth);
                    }
                }
                b"sh" => {
                    let r = transform(&st.ctm, [-1e6, -1e6, 1e6, 1e6]);
                    self.push(&st, r);
                }
                b"BI" => {
                    // An inline image: the unit square; its data is skipped.
                    let r = transform(&st.ctm, [0.0, 0.0, 1.0, 1.0]);
                    self.push(&st, r);
                    match super::object::find(&content[lx.pos..], b"EI") {
                        Some(p) => lx.pos += p + 2,
                        None => return,
                    }
                }
                _ => {}
            }
            operands.clear();
        }
    }

    /// Records `r` as painted, as far as the clip in `st` shows it.
    fn push(&mut self, st: &State, r: Rect) {
        // Coordinates that overflowed say nothing of where: everywhere.
        let r = if r.iter().any(|v| v.is_nan()) {
            EVERYWHERE
        } else {
            r
        };
        match &st.clip {
            None => self.boxes.push(r),
            Some(c) => {
                if let Some(r) = intersection(&r, c) {
                    self.boxes.push(r);
                }
            }
        }
    }

    /// The metrics of font `name` in `resources`.
    fn font(&mut self, resources: &Dict, name: &[u8]) -> Rc<Metrics> {
        let doc = self.doc;
        let Some(entry) = resources
            .get(b"Font")
            .and_then(|f| doc.dict(f, self.rev).ok().flatten())
            .and_then(|d| d.get(name).cloned())
        else {
            return Rc::new(Metrics::unknown());
        };
        // A font written in place (not an object) is rare; it is read as
        // Unknown rather than again at each use.
        let Object::Ref(r) = entry else {
            return Rc::new(Metrics::unknown());
        };
        if let Some(m) = self.fonts.get(&r) {
            return Rc::clone(m);
        }
        let metrics = Rc::new(
            doc.dict(&entry, self.rev)
                .ok()
                .flatten()
                .map_or(Metrics::unknown(), |d| {
                    Metrics::of(doc, &d, self.rev, &mut self.width_budget)
                }),
        );
        self.fonts.insert(r, Rc::clone(&metrics));
        metrics
    }

    fn xobject(&mut self, name: &[u8], resources: &Dict, st: &State, depth: usize) {
        let doc = self.doc;
        let Some(Object::Stream(x)) = resources
            .get(b"XObject")
            .and_then(|x| doc.dict(x, self.rev).ok().flatten())
            .and_then(|d| d.get(name).cloned())
            .and_then(|o| doc.resolve(&o, self.rev).ok().flatten())
        else {
            return;
        };
        match x.dict.name(b"Subtype") {
            Some(b"Image") => self.push(st, transform(&st.ctm, [0.0, 0.0, 1.0, 1.0])),
            Some(b"Form") if depth < MAX_FORMS => {
                let m = x
                    .dict
                    .get(b"Matrix")
                    .and_then(Object::as_array)
                    .map(|a| a.iter().filter_map(number).collect::<Vec<_>>())
                    .and_then(|v| <[f64; 6]>::try_from(v).ok())
                    .unwrap_or(IDENTITY);
                let inner_res = x
                    .dict
                    .get(b"Resources")
                    .and_then(|r| doc.dict(r, self.rev).ok().flatten())
                    .unwrap_or_else(|| resources.clone());
                let Ok(data) = doc.decode(&x) else {
                    return;
                };
                let mut inner = st.clone();
                inner.ctm = mul(&m, &st.ctm);
                // A form shows nothing outside its bounding box.
                // A /BBox that is not four numbers narrows nothing.
                let bbox = x.dict.get(b"BBox").and_then(exact_rect_of);
                if let Some(bbox) = bbox {
                    inner.clip = narrowed(inner.clip, transform(&inner.ctm, bbox));
                }
                self.run(&data, &inner_res, inner, depth + 1);
            }
            _ => {}
        }
    }
}

fn grow(path: &mut Option<Rect>, ctm: &Matrix, pts: &[(f64, f64)]) {
    for (x, y) in pts {
        let (x, y) = apply(ctm, *x, *y);
        if x.is_nan() || y.is_nan() {
            // Overflowed: the path may be anywhere.
            *path = Some(EVERYWHERE);
            return;
        }
        *path = Some(match path {
            None => [x, y, x, y],
            Some(r) => [r[0].min(x), r[1].min(y), r[2].max(x), r[3].max(y)],
        });
    }
}
