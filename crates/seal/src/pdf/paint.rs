//! Where a page's content paints: the boxes (in default user space) of
//! its text, filled and stroked paths, images and forms, as a conservative
//! outline (text is given a generous width, white fills are left out).
//! Enough to tell whether something added later covers what was signed.

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

/// A rectangle from a PDF array `[x0 y0 x1 y1]`, in order.
pub fn rect_of(o: &Object) -> Option<Rect> {
    let a = o.as_array()?;
    let n: Vec<f64> = a.iter().filter_map(number).collect();
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
    white_fill: bool,
    white_stroke: bool,
    line_width: f64,
    font_size: f64,
    leading: f64,
    invisible_text: bool,
}

struct Painter<'d, 'a> {
    doc: &'d Document<'a>,
    rev: usize,
    boxes: Vec<Rect>,
    ops: usize,
}

/// The boxes that `page` (as it stood at revision `rev`) paints.
pub fn painted(doc: &Document<'_>, page: &Dict, rev: usize) -> Vec<Rect> {
    let mut p = Painter {
        doc,
        rev,
        boxes: Vec::new(),
        ops: 0,
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
        white_fill: false,
        white_stroke: false,
        line_width: 1.0,
        font_size: 12.0,
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
            let n = |i: usize| nums.get(i).copied().unwrap_or(0.0);
            match tok {
                // Deeper nesting than any producer writes is ignored.
                b"q" if stack.len() < 256 => stack.push(st.clone()),
                b"Q" => {
                    if let Some(s) = stack.pop() {
                        st = s;
                    }
                }
                b"cm" if nums.len() == 6 => {
                    st.ctm = mul(&[n(0), n(1), n(2), n(3), n(4), n(5)], &st.ctm);
                }
                b"w" => st.line_width = n(0).abs(),
                b"g" => st.white_fill = n(0) >= 0.999,
                b"G" => st.white_stroke = n(0) >= 0.999,
                b"rg" => st.white_fill = nums.len() == 3 && nums.iter().all(|v| *v >= 0.999),
                b"RG" => st.white_stroke = nums.len() == 3 && nums.iter().all(|v| *v >= 0.999),
                b"k" => st.white_fill = nums.len() == 4 && nums.iter().all(|v| *v <= 0.001),
                b"K" => st.white_stroke = nums.len() == 4 && nums.iter().all(|v| *v <= 0.001),
                b"sc" | b"scn" | b"cs" => st.white_fill = false,
                b"SC" | b"SCN" | b"CS" => st.white_stroke = false,
                b"m" | b"l" => grow(&mut path, &st.ctm, &[(n(0), n(1))]),
                b"c" => grow(
                    &mut path,
                    &st.ctm,
                    &[(n(0), n(1)), (n(2), n(3)), (n(4), n(5))],
                ),
                b"v" | b"y" => grow(&mut path, &st.ctm, &[(n(0), n(1)), (n(2), n(3))]),
                b"re" => grow(
                    &mut path,
                    &st.ctm,
                    &[(n(0), n(1)), (n(0) + n(2), n(1) + n(3))],
                ),
                b"f" | b"F" | b"f*" => {
                    if let Some(r) = path.take() {
                        if !st.white_fill {
                            self.boxes.push(r);
                        }
                    }
                }
                b"S" | b"s" => {
                    if let Some(r) = path.take() {
                        if !st.white_stroke {
                            let w = st.line_width / 2.0;
                            self.boxes.push([r[0] - w, r[1] - w, r[2] + w, r[3] + w]);
                        }
                    }
                }
                b"B" | b"B*" | b"b" | b"b*" => {
                    if let Some(r) = path.take() {
                        if !(st.white_fill && st.white_stroke) {
                            self.boxes.push(r);
                        }
                    }
                }
                b"n" => path = None,
                b"BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                b"Tf" => st.font_size = n(0).abs(),
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
                    if tok != b"Tj" && tok != b"TJ" {
                        tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &tlm);
                        tm = tlm;
                    }
                    let glyphs: usize = operands
                        .iter()
                        .map(|o| match o {
                            Object::Str(s) => s.len(),
                            Object::Array(a) => a
                                .iter()
                                .map(|x| match x {
                                    Object::Str(s) => s.len(),
                                    _ => 0,
                                })
                                .sum(),
                            _ => 0,
                        })
                        .sum();
                    // A generous width: a full em for each byte shown.
                    let width = glyphs as f64 * st.font_size;
                    if !st.invisible_text && glyphs > 0 {
                        let m = mul(&tm, &st.ctm);
                        self.boxes.push(transform(
                            &m,
                            [0.0, -0.3 * st.font_size, width, st.font_size],
                        ));
                    }
                    tm = mul(&[1.0, 0.0, 0.0, 1.0, width, 0.0], &tm);
                }
                b"Do" => {
                    if let Some(Object::Name(name)) = operands.first() {
                        self.xobject(name, resources, &st, depth);
                    }
                }
                b"sh" => {
                    self.boxes.push(transform(&st.ctm, [-1e6, -1e6, 1e6, 1e6]));
                }
                b"BI" => {
                    // An inline image: the unit square; its data is skipped.
                    self.boxes.push(transform(&st.ctm, [0.0, 0.0, 1.0, 1.0]));
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
            Some(b"Image") => self.boxes.push(transform(&st.ctm, [0.0, 0.0, 1.0, 1.0])),
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
                self.run(&data, &inner_res, inner, depth + 1);
            }
            _ => {}
        }
    }
}

fn grow(path: &mut Option<Rect>, ctm: &Matrix, pts: &[(f64, f64)]) {
    for (x, y) in pts {
        let (x, y) = apply(ctm, *x, *y);
        *path = Some(match path {
            None => [x, y, x, y],
            Some(r) => [r[0].min(x), r[1].min(y), r[2].max(x), r[3].max(y)],
        });
    }
}
