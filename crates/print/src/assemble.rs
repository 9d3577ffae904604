//! The original's pages, assembled with lopdf into a new file: the same
//! content streams, fonts, images, sizes and rotation, each page marked
//! "COPIE — COPY"; no signature, form, script or earlier revision comes
//! along.

use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream};

use crate::words::{self, Lang};

/// Page attributes a page may inherit from its ancestors (ISO 32000-1
/// §7.7.3.4).
const INHERITED: [&[u8]; 4] = [b"Resources", b"MediaBox", b"CropBox", b"Rotate"];
/// Most levels of the page tree walked up for inherited attributes.
const MAX_DEPTH: usize = 64;
/// The names the copy's marks use in each page's resources.
const FONT: &[u8] = b"CoffreCopyF";
const ALPHA: &[u8] = b"CoffreCopyGS";

pub struct Copy {
    doc: Document,
    pages_root: ObjectId,
    pages: Vec<ObjectId>,
    /// The marks' font and transparency, one object each for every page.
    font: ObjectId,
    alpha: ObjectId,
}

impl Copy {
    pub fn open(original: &[u8]) -> Result<Copy, crate::Error> {
        let mut doc =
            Document::load_mem(original).map_err(|e| crate::Error::NotPdf(e.to_string()))?;
        if doc.is_encrypted() {
            return Err(crate::Error::Encrypted);
        }
        let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
        if pages.is_empty() {
            return Err(crate::Error::NotPdf("it has no page".into()));
        }
        // A new page tree and catalog: the original's forms, signatures,
        // validation data, scripts and outlines stay behind.
        let pages_root = doc.new_object_id();
        for &page in &pages {
            let mut dict = doc
                .get_dictionary(page)
                .map_err(|e| crate::Error::NotPdf(e.to_string()))?
                .clone();
            for key in INHERITED {
                if !dict.has(key) {
                    if let Some(v) = inherited(&doc, &dict, key) {
                        dict.set(key, v);
                    }
                }
            }
            if !dict.has(b"MediaBox") {
                dict.set(b"MediaBox", a4());
            }
            dict.set("Parent", pages_root);
            dict.remove(b"Annots");
            if let Some(annots) = kept_annotations(&doc, page) {
                dict.set("Annots", annots);
            }
            for key in [&b"AA"[..], b"B", b"StructParents", b"Tabs"] {
                dict.remove(key);
            }
            doc.objects.insert(page, Object::Dictionary(dict));
        }
        let catalog = doc.add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => pages_root,
        });
        let info = doc
            .trailer
            .get(b"Info")
            .ok()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_dict().ok())
            .and_then(|d| d.get(b"Title").ok().cloned());
        let mut info_dict = dictionary! { "Producer" => Object::string_literal("Coffre") };
        if let Some(title) = info {
            info_dict.set("Title", title);
        }
        let info = doc.add_object(info_dict);
        let mut trailer = Dictionary::new();
        trailer.set("Root", catalog);
        trailer.set("Info", info);
        doc.trailer = trailer;
        let font = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => "Helvetica-Bold",
            "Encoding" => "WinAnsiEncoding",
        });
        let alpha =
            doc.add_object(dictionary! { "Type" => "ExtGState", "ca" => 0.16, "CA" => 0.16 });
        Ok(Copy {
            doc,
            pages_root,
            pages,
            font,
            alpha,
        })
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Appends the certificate page (a one-page PDF) and marks every page.
    pub fn append_certificate(&mut self, drawn: &[u8], lang: Lang) -> Result<(), crate::Error> {
        let mut cert = Document::load_mem(drawn).map_err(|e| crate::Error::Pdf(e.to_string()))?;
        cert.renumber_objects_with(self.doc.max_id + 1);
        let cert_page = cert
            .get_pages()
            .into_values()
            .next()
            .ok_or_else(|| crate::Error::Pdf("the certificate has no page".into()))?;
        // The page's own attributes, inherited ones included.
        let mut page_dict = cert
            .get_dictionary(cert_page)
            .map_err(|e| crate::Error::Pdf(e.to_string()))?
            .clone();
        for key in INHERITED {
            if !page_dict.has(key) {
                if let Some(v) = inherited(&cert, &page_dict, key) {
                    page_dict.set(key, v);
                }
            }
        }
        page_dict.set("Parent", self.pages_root);
        cert.objects
            .insert(cert_page, Object::Dictionary(page_dict));
        self.doc.max_id = self.doc.max_id.max(cert.max_id);
        // Only what the page reaches: not the drawn file's catalog or tree.
        let mut wanted = vec![cert_page];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(id) = wanted.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Some(obj) = cert.objects.remove(&id) else {
                continue;
            };
            let mut refs = Vec::new();
            collect_refs(&obj, &mut refs, id == cert_page);
            wanted.extend(refs);
            self.doc.objects.insert(id, obj);
        }
        self.pages.push(cert_page);

        let total = self.pages.len();
        for (i, &page) in self.pages.clone().iter().enumerate() {
            self.mark(page, i + 1 == total, total, lang)?;
        }
        let kids: Vec<Object> = self.pages.iter().map(|&p| Object::Reference(p)).collect();
        self.doc.objects.insert(
            self.pages_root,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => total as i64,
            }),
        );
        Ok(())
    }

    /// Wraps the page's content in `q … Q` and draws the copy's marks over
    /// it, in the page's displayed orientation.
    fn mark(
        &mut self,
        page: ObjectId,
        is_certificate: bool,
        total: usize,
        lang: Lang,
    ) -> Result<(), crate::Error> {
        let w = words::of(lang);
        let dict = self
            .doc
            .get_dictionary(page)
            .map_err(|e| crate::Error::Pdf(e.to_string()))?
            .clone();
        let bx = page_box(&self.doc, &dict);
        let rotate = dict
            .get(b"Rotate")
            .ok()
            .and_then(|o| self.doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_i64().ok())
            .unwrap_or(0)
            .rem_euclid(360);
        let (x0, y0, pw, ph) = (bx[0], bx[1], bx[2] - bx[0], bx[3] - bx[1]);
        // From the displayed page (origin bottom left, as a reader sees it)
        // to the page's own space.
        let (cm, dw, dh) = match rotate {
            90 => ([0.0, 1.0, -1.0, 0.0, x0 + pw, y0], ph, pw),
            180 => ([-1.0, 0.0, 0.0, -1.0, x0 + pw, y0 + ph], pw, ph),
            270 => ([0.0, -1.0, 1.0, 0.0, x0, y0 + ph], ph, pw),
            _ => ([1.0, 0.0, 0.0, 1.0, x0, y0], pw, ph),
        };
        let band_text = if is_certificate {
            w.band.to_owned()
        } else {
            format!("{}  \u{2192} {} {total}.", w.band, w.band_certificate)
        };
        let mut ops = String::new();
        let cm = cm.map(num).join(" ");
        // The big diagonal word, faint, across the original's pages.
        if !is_certificate {
            let size = (dw.hypot(dh) / 9.0).min(90.0);
            let text_w = 7.502 * size;
            let angle = dh.atan2(dw);
            let (sin, cos) = angle.sin_cos();
            let (cx, cy) = (dw / 2.0, dh / 2.0);
            let tx = cx - cos * text_w / 2.0 + sin * size * 0.35;
            let ty = cy - sin * text_w / 2.0 - cos * size * 0.35;
            ops.push_str(&format!(
                "q {cm} cm /{alpha} gs 0.75 0 0 rg BT /{font} {size} Tf {} {} {} {} {} {} Tm ({word}) Tj ET Q\n",
                num(cos),
                num(sin),
                num(-sin),
                num(cos),
                num(tx),
                num(ty),
                alpha = name(ALPHA),
                font = name(FONT),
                size = num(size),
                word = "COPIE \\227 COPY",
            ));
        }
        // The band along the top edge.
        let band_h = 18.0;
        ops.push_str(&format!(
            "q {cm} cm 0.75 0 0 rg 0 {} {} {band_h} re f BT 1 1 1 rg /{font} 8.5 Tf 10 {} Td ({}) Tj ET Q\n",
            num(dh - band_h),
            num(dw),
            num(dh - band_h + 5.5),
            winansi(&band_text),
            font = name(FONT),
        ));
        let before = self
            .doc
            .add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
        let mut after = Stream::new(Dictionary::new(), format!("Q\n{ops}").into_bytes());
        let _ = after.compress();
        let after = self.doc.add_object(after);
        let mut contents = vec![Object::Reference(before)];
        match dict.get(b"Contents") {
            Ok(Object::Array(parts)) => contents.extend(parts.iter().cloned()),
            Ok(Object::Reference(r)) => match self.doc.get_object(*r) {
                Ok(Object::Array(parts)) => contents.extend(parts.iter().cloned()),
                _ => contents.push(Object::Reference(*r)),
            },
            _ => {}
        }
        contents.push(Object::Reference(after));

        // The marks' font and transparency, beside the page's own.
        let mut resources = match dict.get(b"Resources") {
            Ok(o) => self
                .doc
                .dereference(o)
                .ok()
                .and_then(|(_, o)| o.as_dict().ok().cloned())
                .unwrap_or_default(),
            Err(_) => Dictionary::new(),
        };
        let mut fonts = sub_dict(&self.doc, &resources, b"Font");
        fonts.set(FONT, self.font);
        resources.set("Font", fonts);
        let mut states = sub_dict(&self.doc, &resources, b"ExtGState");
        states.set(ALPHA, self.alpha);
        resources.set("ExtGState", states);

        let mut dict = dict;
        dict.set("Contents", contents);
        dict.set("Resources", resources);
        self.doc.objects.insert(page, Object::Dictionary(dict));
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, crate::Error> {
        self.doc.prune_objects();
        let mut out = Vec::new();
        self.doc
            .save_to(&mut out)
            .map_err(|e| crate::Error::Pdf(e.to_string()))?;
        Ok(out)
    }
}

/// An attribute from the nearest ancestor that has it.
fn inherited(doc: &Document, page: &Dictionary, key: &[u8]) -> Option<Object> {
    let mut node = page.clone();
    for _ in 0..MAX_DEPTH {
        let parent = node.get(b"Parent").ok()?.as_reference().ok()?;
        node = doc.get_dictionary(parent).ok()?.clone();
        if let Ok(v) = node.get(key) {
            return Some(v.clone());
        }
    }
    None
}

/// The page's annotations without its widgets: a copy has no form and no
/// signature field. Links and notes stay.
fn kept_annotations(doc: &Document, page: ObjectId) -> Option<Object> {
    let dict = doc.get_dictionary(page).ok()?;
    let annots = match dict.get(b"Annots").ok()? {
        Object::Array(a) => a.clone(),
        Object::Reference(r) => doc.get_object(*r).ok()?.as_array().ok()?.clone(),
        _ => return None,
    };
    let kept: Vec<Object> = annots
        .into_iter()
        .filter(|a| {
            let d = match a {
                Object::Reference(r) => doc.get_dictionary(*r).ok(),
                Object::Dictionary(d) => Some(d),
                _ => None,
            };
            d.is_some_and(|d| {
                d.get(b"Subtype").ok().and_then(|s| s.as_name().ok()) != Some(b"Widget")
                    && !d.has(b"Parent")
            })
        })
        .collect();
    (!kept.is_empty()).then_some(Object::Array(kept))
}

/// CropBox, else MediaBox, else A4.
fn page_box(doc: &Document, dict: &Dictionary) -> [f32; 4] {
    for key in [&b"CropBox"[..], b"MediaBox"] {
        let Some(arr) = dict
            .get(key)
            .ok()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_array().ok())
        else {
            continue;
        };
        let n: Vec<f32> = arr
            .iter()
            .filter_map(|o| doc.dereference(o).ok()?.1.as_float().ok())
            .collect();
        if let [a, b, c, d] = n[..] {
            return [a.min(c), b.min(d), a.max(c), b.max(d)];
        }
    }
    [0.0, 0.0, 595.28, 841.89]
}

fn a4() -> Object {
    Object::Array(vec![0.into(), 0.into(), 595.28.into(), 841.89.into()])
}

/// A resource sub-dictionary, resolved, to add an entry to.
fn sub_dict(doc: &Document, resources: &Dictionary, key: &[u8]) -> Dictionary {
    resources
        .get(key)
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok().cloned())
        .unwrap_or_default()
}

fn collect_refs(obj: &Object, out: &mut Vec<ObjectId>, skip_parent: bool) {
    match obj {
        Object::Reference(r) => out.push(*r),
        Object::Array(a) => a.iter().for_each(|o| collect_refs(o, out, false)),
        Object::Dictionary(d) => {
            for (k, v) in d.iter() {
                if !(skip_parent && k == b"Parent") {
                    collect_refs(v, out, false);
                }
            }
        }
        Object::Stream(s) => {
            for (_, v) in s.dict.iter() {
                collect_refs(v, out, false);
            }
        }
        _ => {}
    }
}

fn num(x: f32) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

fn name(n: &[u8]) -> &str {
    std::str::from_utf8(n).unwrap_or("F")
}

/// A PDF literal string in WinAnsi (the band's font): Latin-1 as itself,
/// the dash and arrow the band uses, `?` for anything else.
fn winansi(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '\u{2014}' => out.push_str("\\227"),
            '\u{2192}' => out.push_str("\\273"),
            '\u{a0}'..='\u{ff}' => out.push_str(&format!("\\{:03o}", c as u32)),
            _ => out.push('?'),
        }
    }
    out
}
