//! What changed after a signature: every object that a later revision
//! defines is compared with the signed revision's, and each change is
//! classified. Validation data (`/DSS`), document time-stamps and further
//! invisible signature fields are allowed; anything that changes what the
//! document shows is not (incremental-saving and shadow attacks).

use std::collections::{HashMap, HashSet};

use crate::crypto::{Certificate, Crl, ParseCache};
use crate::pdf::{last_startxref, Dict, Document, Entry, ObjRef, Object};

/// One change found after a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Modification {
    /// Allowed changes do not alter the document's content or appearance.
    pub allowed: bool,
    pub what: String,
}

/// Certificates and CRLs embedded in the newest `/DSS`. Certificates stay
/// DER until a path needs them (most seals carry their chain).
#[derive(Debug, Default)]
pub(crate) struct DssMaterial {
    pub cert_ders: Vec<Vec<u8>>,
    pub crls: Vec<Crl>,
}

impl DssMaterial {
    pub fn certs(&self) -> Vec<Certificate> {
        self.cert_ders
            .iter()
            .filter_map(|d| Certificate::from_der(d).ok())
            .collect()
    }
}

pub(crate) fn dss_material(doc: &Document<'_>, crls: &ParseCache<Crl>) -> DssMaterial {
    let mut out = DssMaterial::default();
    let Some(catalog) = catalog(doc, 0) else {
        return out;
    };
    let Some(dss) = catalog
        .get(b"DSS")
        .and_then(|d| doc.dict(d, 0).ok().flatten())
    else {
        return out;
    };
    let streams = |key: &[u8]| -> Vec<Vec<u8>> {
        let Some(list) = dss.get(key).and_then(|l| doc.resolve(l, 0).ok().flatten()) else {
            return Vec::new();
        };
        list.as_array()
            .unwrap_or_default()
            .iter()
            .take(1000)
            .filter_map(|o| match doc.resolve(o, 0).ok().flatten() {
                Some(Object::Stream(s)) => doc.decode(&s).ok(),
                _ => None,
            })
            .collect()
    };
    out.cert_ders = streams(b"Certs");
    out.crls = streams(b"CRLs")
        .iter()
        .filter_map(|d| crls.get_or_parse(d, Crl::from_der_hashed).ok())
        .collect();
    out
}

fn catalog(doc: &Document<'_>, rev: usize) -> Option<Dict> {
    let root = doc.sections.get(rev)?.trailer.get(b"Root")?.clone();
    doc.dict(&root, rev).ok().flatten()
}

/// Compares the revision that ends at `signed_end` with the newest one.
/// `Err` when the later bytes do not even extend the signed revision.
/// Fields a signature locks (FieldMDP, in its /Reference or its field's
/// /Lock): none, all, all but some, or some.
#[derive(Clone, Debug, Default)]
pub(crate) enum Locked {
    #[default]
    None,
    All,
    Except(Vec<String>),
    Only(Vec<String>),
}

impl Locked {
    fn locks(&self, name: &str) -> bool {
        match self {
            Locked::None => false,
            Locked::All => true,
            Locked::Except(names) => !names.iter().any(|n| n == name),
            Locked::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

/// What the signature of `field` locks.
pub(crate) fn locked_fields(doc: &Document<'_>, field: &crate::validate::SigField) -> Locked {
    let params_of = |d: &Dict| -> Option<Dict> {
        if d.name(b"Action").is_some() {
            return Some(d.clone());
        }
        for r in doc.resolve(d.get(b"Reference")?, 0).ok()??.as_array()? {
            let r = doc.dict(r, 0).ok()??;
            if r.name(b"TransformMethod") == Some(b"FieldMDP") {
                return r
                    .get(b"TransformParams")
                    .and_then(|p| doc.dict(p, 0).ok().flatten());
            }
        }
        None
    };
    let lock = field
        .lock
        .as_ref()
        .and_then(params_of)
        .or_else(|| params_of(&field.dict));
    let Some(p) = lock else {
        return Locked::None;
    };
    let names = || -> Vec<String> {
        p.get(b"Fields")
            .and_then(|f| doc.resolve(f, 0).ok().flatten())
            .and_then(|f| f.as_array().map(<[Object]>::to_vec))
            .unwrap_or_default()
            .iter()
            .filter_map(|o| match o {
                Object::Str(s) => Some(crate::pdf::decode_text(s)),
                _ => None,
            })
            .collect()
    };
    match p.name(b"Action") {
        Some(b"All") => Locked::All,
        Some(b"Exclude") => Locked::Except(names()),
        Some(b"Include") => Locked::Only(names()),
        _ => Locked::None,
    }
}

pub(crate) fn analyse(
    doc: &Document<'_>,
    signed_end: usize,
    certification: Option<i64>,
    locked: &Locked,
) -> Result<Vec<Modification>, String> {
    // The signed revision is the newest section that starts inside it, and
    // the signed bytes themselves must name that section as theirs.
    let k = doc
        .sections
        .iter()
        .position(|s| s.offset < signed_end)
        .ok_or("the signed revision is not part of the document's history")?;
    // A repaired file's sections were found where they are, not where the
    // file said.
    let located = matches!(doc.repair, Some(crate::pdf::Repair::Located(_)));
    match last_startxref(&doc.buf[..signed_end]) {
        Ok(x) if x == doc.sections[k].offset => {}
        _ if located => {}
        Ok(_) => {
            return Err("the document's history does not pass through the signed revision".into())
        }
        Err(_) => return Err("the signed bytes do not end with a cross-reference".into()),
    }
    for s in &doc.sections[k..] {
        for e in s.entries.values() {
            if let Entry::InUse { offset, .. } = e {
                if *offset >= signed_end {
                    return Err("the signed revision refers to bytes outside the signature".into());
                }
            }
        }
    }
    if k == 0 {
        return Ok(Vec::new());
    }

    let mut touched: Vec<u32> = doc.sections[..k]
        .iter()
        .flat_map(|s| s.entries.keys().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    touched.sort_unstable();

    // DocMDP P=3 (a certification that allows annotations) lets anyone
    // annotate, as long as what is added hides nothing.
    let ctx = Context::new(doc, k, certification == Some(3));
    let mut out = Vec::new();
    let mut notes: HashMap<&'static str, usize> = HashMap::new();
    for num in touched {
        let r = ObjRef { num, gen: 0 };
        let old = doc.object_at(r, k).ok().flatten();
        let new = doc
            .object_at(r, 0)
            .map_err(|_| format!("object {num} of a later revision is unreadable"))?;
        let verdict = ctx.classify(num, old.as_ref(), new.as_ref());
        match verdict {
            Verdict::Same => {}
            Verdict::Allowed(what) => *notes.entry(what).or_default() += 1,
            Verdict::Filled(name) if certification == Some(1) => out.push(Modification {
                allowed: false,
                what: format!("field {name} filled in a document certified as not to be changed"),
            }),
            Verdict::Filled(name) if locked.locks(&name) => out.push(Modification {
                allowed: false,
                what: format!("field {name}, which the signature locks, filled"),
            }),
            Verdict::Filled(name) => out.push(Modification {
                allowed: true,
                what: format!("field {name} filled"),
            }),
            Verdict::Forbidden(what) => out.push(Modification {
                allowed: false,
                what: format!("{what} (object {num})"),
            }),
        }
    }
    for (field, widget) in &ctx.visible_new_fields {
        out.push(ctx.judge_visible(*field, widget, "signature"));
    }
    for (annot, dict) in &ctx.new_annotations {
        out.push(ctx.judge_visible(*annot, dict, "annotation"));
    }
    if certification == Some(1) && ctx.new_approval_signatures {
        out.push(Modification {
            allowed: false,
            what: "a signature was added to a document certified as not to be changed".into(),
        });
    }
    let mut notes: Vec<_> = notes.into_iter().collect();
    notes.sort();
    for (what, n) in notes {
        out.push(Modification {
            allowed: true,
            what: if n > 1 {
                format!("{what} ({n} objects)")
            } else {
                what.to_owned()
            },
        });
    }
    Ok(out)
}

enum Verdict {
    Same,
    Allowed(&'static str),
    /// A form field given a value (DocMDP P=2 and P=3 allow it): its name.
    Filled(String),
    Forbidden(String),
}

struct Context<'d, 'a> {
    doc: &'d Document<'a>,
    k: usize,
    root_same: bool,
    root: Option<ObjRef>,
    info: Option<ObjRef>,
    /// Objects reachable from any later revision's /DSS.
    dss: HashSet<u32>,
    /// Objects reachable from the signed revision's /DSS.
    old_dss: HashSet<u32>,
    old_info: Option<ObjRef>,
    metadata: Option<u32>,
    old_metadata: Option<u32>,
    /// Signature fields added after the signature, invisible ones only,
    /// with their values and appearances.
    new_sig_objects: HashSet<u32>,
    new_sig_fields: HashSet<ObjRef>,
    /// The new signature fields that show something, judged by what
    /// their widgets cover once the objects are classified.
    visible_new_fields: Vec<(ObjRef, Dict)>,
    /// Objects reachable from the newest form's /DR (fonts for fields).
    form_resources: HashSet<u32>,
    /// Objects reachable from the appearances of fields the signed
    /// revision already had (a fill draws its value there).
    field_appearances: HashSet<u32>,
    /// Fields (and their widgets) of the signed revision, by number.
    old_fields: HashSet<u32>,
    /// Annotations added to pages where DocMDP allows them (P=3), with
    /// the objects of their appearances.
    new_annotations: Vec<(ObjRef, Dict)>,
    new_annotation_refs: HashSet<ObjRef>,
    new_annotation_objects: HashSet<u32>,
    /// The pages at the newest revision, and what the signed revision's
    /// pages show, each worked out once however many additions there are.
    pages: std::cell::OnceCell<Vec<ObjRef>>,
    shown: std::cell::RefCell<HashMap<ObjRef, Vec<crate::pdf::paint::Rect>>>,
    acroform: Option<ObjRef>,
    fields_array: Option<ObjRef>,
    new_approval_signatures: bool,
}

impl<'d, 'a> Context<'d, 'a> {
    fn new(doc: &'d Document<'a>, k: usize, annotations_allowed: bool) -> Self {
        let root_new = doc.trailer().reference(b"Root");
        let root_old = doc.sections[k].trailer.reference(b"Root");
        let mut ctx = Context {
            doc,
            k,
            root_same: root_new.is_some() && root_new == root_old,
            root: root_new,
            info: doc.trailer().reference(b"Info"),
            dss: HashSet::new(),
            old_dss: HashSet::new(),
            old_info: doc.sections[k].trailer.reference(b"Info"),
            metadata: catalog(doc, 0)
                .and_then(|c| c.reference(b"Metadata"))
                .map(|r| r.num),
            old_metadata: catalog(doc, k)
                .and_then(|c| c.reference(b"Metadata"))
                .map(|r| r.num),
            new_sig_objects: HashSet::new(),
            new_sig_fields: HashSet::new(),
            visible_new_fields: Vec::new(),
            form_resources: HashSet::new(),
            field_appearances: HashSet::new(),
            old_fields: HashSet::new(),
            new_annotations: Vec::new(),
            new_annotation_refs: HashSet::new(),
            new_annotation_objects: HashSet::new(),
            pages: std::cell::OnceCell::new(),
            shown: std::cell::RefCell::default(),
            acroform: None,
            fields_array: None,
            new_approval_signatures: false,
        };
        // Validation data of every later revision (a newer /DSS may
        // replace an older one, which then stays behind unused).
        for rev in 0..k {
            if let Some(d) = catalog(doc, rev).and_then(|c| c.get(b"DSS").cloned()) {
                reach(doc, &d, &mut ctx.dss, 0, rev);
            }
        }
        if let Some(d) = catalog(doc, k).and_then(|c| c.get(b"DSS").cloned()) {
            reach(doc, &d, &mut ctx.old_dss, 0, k);
        }
        let Some(cat) = catalog(doc, 0) else {
            return ctx;
        };
        let old_fields: HashSet<ObjRef> = catalog(doc, k)
            .and_then(|c| fields_of(doc, &c, k).map(|(_, _, f)| f))
            .unwrap_or_default()
            .into_iter()
            .collect();
        if let Some(dr) = cat
            .get(b"AcroForm")
            .and_then(|f| doc.dict(f, 0).ok().flatten())
            .and_then(|f| f.get(b"DR").cloned())
        {
            reach(doc, &dr, &mut ctx.form_resources, 0, 0);
        }
        ctx.old_fields = old_fields.iter().map(|r| r.num).collect();
        if annotations_allowed {
            ctx.find_new_annotations();
        }
        for f in &old_fields {
            if let Ok(Some(d)) = doc.dict(&Object::Ref(*f), 0) {
                if d.name(b"FT") != Some(b"Sig") {
                    if let Some(ap) = d.get(b"AP") {
                        reach(doc, ap, &mut ctx.field_appearances, 0, 0);
                    }
                }
            }
        }
        if let Some((form_ref, fields_ref, fields)) = fields_of(doc, &cat, 0) {
            ctx.acroform = form_ref;
            ctx.fields_array = fields_ref;
            for f in fields {
                if old_fields.contains(&f) {
                    continue;
                }
                let Ok(Some(d)) = doc.dict(&Object::Ref(f), 0) else {
                    continue;
                };
                if d.name(b"FT") != Some(b"Sig") {
                    continue;
                }
                if !invisible(&d) {
                    ctx.visible_new_fields.push((f, d.clone()));
                }
                ctx.new_sig_fields.insert(f);
                ctx.new_sig_objects.insert(f.num);
                if let Some(v) = d.get(b"V") {
                    if let Ok(Some(sd)) = doc.dict(v, 0) {
                        if sd.name(b"Type") != Some(b"DocTimeStamp")
                            && sd.name(b"SubFilter") != Some(b"ETSI.RFC3161")
                        {
                            ctx.new_approval_signatures = true;
                        }
                    }
                    if let Object::Ref(r) = v {
                        ctx.new_sig_objects.insert(r.num);
                    }
                }
                if let Some(ap) = d.get(b"AP") {
                    reach(doc, ap, &mut ctx.new_sig_objects, 0, 0);
                }
            }
        }
        ctx
    }

    fn classify(&self, num: u32, old: Option<&Object>, new: Option<&Object>) -> Verdict {
        let doc = self.doc;
        let same = match (old, new) {
            (None, None) => true,
            (Some(Object::Stream(a)), Some(Object::Stream(b))) => {
                a.dict.same_as(&b.dict)
                    && doc.buf.get(a.data.clone()) == doc.buf.get(b.data.clone())
            }
            (Some(a), Some(b)) => a.same_as(b),
            _ => false,
        };
        if same {
            return Verdict::Same;
        }
        if let Some(Object::Stream(s)) = new {
            match s.dict.name(b"Type") {
                Some(b"XRef") if old.is_none() => {
                    return Verdict::Allowed("cross-reference stream")
                }
                Some(b"ObjStm") if old.is_none() => return Verdict::Allowed("object stream"),
                _ => {}
            }
        }
        // An object that showed something in the signed revision keeps
        // its role: only new objects, or ones that already played the same
        // harmless part, may change under these headings.
        if self.dss.contains(&num) && (old.is_none() || self.old_dss.contains(&num)) {
            return Verdict::Allowed("validation data (/DSS) added");
        }
        if self.new_sig_objects.contains(&num) && old.is_none() {
            return Verdict::Allowed("signature or document time-stamp added");
        }
        if self.form_resources.contains(&num) && old.is_none() {
            return Verdict::Allowed("form resources (fonts for fields) added");
        }
        if self.new_annotation_objects.contains(&num) && old.is_none() {
            return Verdict::Allowed("annotation added");
        }
        if self.field_appearances.contains(&num) && old.is_none() {
            return Verdict::Allowed("appearance of a filled field");
        }
        if let Some(name) = self.filled(num, old, new) {
            return Verdict::Filled(name);
        }
        let is_metadata = |o: Option<&Object>| matches!(o, Some(Object::Stream(s)) if s.dict.name(b"Type") == Some(b"Metadata"));
        if Some(num) == self.metadata
            && is_metadata(new)
            && (old.is_none() || (is_metadata(old) && Some(num) == self.old_metadata))
        {
            return Verdict::Allowed("document metadata (XMP) updated");
        }
        if Some(num) == self.info.map(|r| r.num)
            && matches!(new, Some(Object::Dict(_)))
            && (old.is_none() || Some(num) == self.old_info.map(|r| r.num))
        {
            return Verdict::Allowed("document information updated");
        }
        let (Some(old), Some(new)) = (old, new) else {
            return Verdict::Forbidden(match (old, new) {
                (None, Some(o)) => format!("{} added", describe(o)),
                (Some(o), _) => format!("{} deleted", describe(o)),
                _ => "object changed".into(),
            });
        };
        if Some(num) == self.root.map(|r| r.num) && self.root_same {
            return self
                .dict_change(
                    old,
                    new,
                    &[b"DSS", b"AcroForm", b"Extensions", b"Version", b"Metadata"],
                    "catalog changed",
                )
                .and_then_form(|| self.catalog_form_ok(old, new));
        }
        if Some(num) == self.acroform.map(|r| r.num) {
            return match (old.as_dict(), new.as_dict()) {
                (Some(o), Some(n)) => self.form_dict_ok(o, n),
                _ => Verdict::Forbidden("form changed".into()),
            };
        }
        if Some(num) == self.fields_array.map(|r| r.num) {
            return self.array_growth(old, new, "form fields changed");
        }
        // A page, or its annotation array, may only gain new invisible
        // signature widgets.
        if let (Some(od), Some(nd)) = (old.as_dict(), new.as_dict()) {
            if od.name(b"Type") == Some(b"Page") {
                let v = self.dict_change(old, new, &[b"Annots"], "page changed");
                if !matches!(v, Verdict::Allowed(_)) {
                    return v;
                }
                return match (od.get(b"Annots"), nd.get(b"Annots")) {
                    (a, Some(b)) => {
                        let a = a.cloned().unwrap_or(Object::Array(Vec::new()));
                        let a = doc
                            .resolve(&a, self.k)
                            .ok()
                            .flatten()
                            .unwrap_or(Object::Array(Vec::new()));
                        let b = doc.resolve(b, 0).ok().flatten().unwrap_or(Object::Null);
                        self.array_growth(&a, &b, "annotation added to a page")
                    }
                    _ => Verdict::Forbidden("annotations removed from a page".into()),
                };
            }
        }
        if let (Object::Array(_), Object::Array(_)) = (old, new) {
            let v = self.array_growth(old, new, "annotation added to a page");
            if matches!(v, Verdict::Allowed(_)) {
                return v;
            }
        }
        Verdict::Forbidden(format!("{} changed", describe(new)))
    }

    /// Annotations (not widgets) that pages list now and did not in the
    /// signed revision, each a new object.
    fn find_new_annotations(&mut self) {
        let doc = self.doc;
        let annots_of = |page: ObjRef, rev: usize| -> Vec<ObjRef> {
            doc.dict(&Object::Ref(page), rev)
                .ok()
                .flatten()
                .and_then(|d| d.get(b"Annots").cloned())
                .and_then(|a| doc.resolve(&a, rev).ok().flatten())
                .and_then(|a| a.as_array().map(<[Object]>::to_vec))
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| match o {
                    Object::Ref(r) => Some(r),
                    _ => None,
                })
                .collect()
        };
        for page in page_list(doc, 0) {
            let before: HashSet<ObjRef> = annots_of(page, self.k).into_iter().collect();
            for a in annots_of(page, 0) {
                if before.contains(&a) || self.new_sig_fields.contains(&a) {
                    continue;
                }
                if !matches!(doc.object_at(a, self.k), Ok(None)) {
                    continue;
                }
                let Ok(Some(d)) = doc.dict(&Object::Ref(a), 0) else {
                    continue;
                };
                if d.name(b"Subtype").is_none_or(|s| s == b"Widget") {
                    continue;
                }
                self.new_annotation_refs.insert(a);
                self.new_annotation_objects.insert(a.num);
                if let Some(ap) = d.get(b"AP") {
                    reach(doc, ap, &mut self.new_annotation_objects, 0, 0);
                }
                if let Some(Object::Ref(p)) = d.get(b"Popup") {
                    self.new_annotation_objects.insert(p.num);
                }
                if !invisible(&d) {
                    self.new_annotations.push((a, d));
                }
            }
        }
    }

    /// A field of the signed revision (text, choice or button, not
    /// read-only) that changed only in its value, its state and its
    /// appearance, in the same place: a form fill. Its name, if so.
    fn filled(&self, num: u32, old: Option<&Object>, new: Option<&Object>) -> Option<String> {
        if !self.old_fields.contains(&num) {
            return None;
        }
        let (o, n) = (old?.as_dict()?, new?.as_dict()?);
        if !matches!(o.name(b"FT"), Some(b"Tx" | b"Ch" | b"Btn")) {
            return None;
        }
        let read_only = |d: &Dict| d.int(b"Ff").is_some_and(|f| f & 1 != 0);
        if read_only(o) || read_only(n) {
            return None;
        }
        let strip = |d: &Dict| {
            let mut d = d.clone();
            for k in [&b"V"[..], b"AS", b"AP"] {
                d.remove(k);
            }
            d
        };
        if !strip(o).same_as(&strip(n)) {
            return None;
        }
        Some(match o.get(b"T") {
            Some(Object::Str(t)) => crate::pdf::decode_text(t),
            _ => format!("(object {num})"),
        })
    }

    /// A later visible signature is allowed when its widget covers nothing
    /// the signed revision shows on its page (what the Sneaky Signature
    /// and shadow attacks would hide).
    fn judge_visible(&self, field: ObjRef, widget: &Dict, kind: &str) -> Modification {
        let doc = self.doc;
        let Some(rect) = widget.get(b"Rect").and_then(crate::pdf::paint::rect_of) else {
            return Modification {
                allowed: false,
                what: format!(
                    "visible signature field without a usable /Rect (object {})",
                    field.num
                ),
            };
        };
        let pages = self.pages.get_or_init(|| page_list(doc, 0));
        let on_page = widget
            .reference(b"P")
            .filter(|p| pages.contains(p))
            .or_else(|| {
                pages.iter().copied().find(|p| {
                    doc.dict(&Object::Ref(*p), 0)
                        .ok()
                        .flatten()
                        .and_then(|d| d.get(b"Annots").cloned())
                        .and_then(|a| doc.resolve(&a, 0).ok().flatten())
                        .and_then(|a| a.as_array().map(|a| a.contains(&Object::Ref(field))))
                        .unwrap_or(false)
                })
            });
        let Some(page) = on_page else {
            // On no page: it shows nowhere.
            return Modification {
                allowed: true,
                what: format!("{kind} added on no page"),
            };
        };
        let number = pages.iter().position(|p| *p == page).map_or(0, |i| i + 1);
        let Ok(Some(old_page)) = doc.dict(&Object::Ref(page), self.k) else {
            return Modification {
                allowed: false,
                what: format!("visible {kind} added on page {number}, which the signed revision does not have"),
            };
        };
        let mut cache = self.shown.borrow_mut();
        let shown = cache.entry(page).or_insert_with(|| {
            let mut shown = crate::pdf::paint::painted(doc, &old_page, self.k);
            // The signed revision's own annotations show too.
            if let Some(annots) = old_page
                .get(b"Annots")
                .and_then(|a| doc.resolve(a, self.k).ok().flatten())
            {
                for a in annots.as_array().unwrap_or_default().iter().take(10_000) {
                    if let Ok(Some(d)) = doc.dict(a, self.k) {
                        if !invisible(&d) {
                            if let Some(r) = d.get(b"Rect").and_then(crate::pdf::paint::rect_of) {
                                shown.push(r);
                            }
                        }
                    }
                }
            }
            shown
        });
        // A point of slack on each side: a box that only touches the
        // signed content covers none of it.
        let inner = [rect[0] + 1.0, rect[1] + 1.0, rect[2] - 1.0, rect[3] - 1.0];
        if shown
            .iter()
            .any(|b| crate::pdf::paint::intersects(b, &inner))
        {
            Modification {
                allowed: false,
                what: format!(
                    "a later {kind}'s appearance covers what the signed document shows on page {number} (object {})",
                    field.num
                ),
            }
        } else {
            Modification {
                allowed: true,
                what: if kind == "signature" {
                    format!("signed again, visibly, on page {number}, over nothing the signed document shows")
                } else {
                    format!("{kind} added on page {number}, over nothing the signed document shows")
                },
            }
        }
    }

    /// Allowed when `old` and `new` differ only under `keys`.
    fn dict_change(&self, old: &Object, new: &Object, keys: &[&[u8]], what: &str) -> Verdict {
        let (Some(o), Some(n)) = (old.as_dict(), new.as_dict()) else {
            return Verdict::Forbidden(what.into());
        };
        let strip = |d: &Dict| {
            let mut d = d.clone();
            for k in keys {
                d.remove(k);
            }
            d
        };
        if strip(o).same_as(&strip(n)) {
            Verdict::Allowed("signature bookkeeping")
        } else {
            Verdict::Forbidden(what.into())
        }
    }

    /// The catalog's AcroForm entry: the same indirect form (judged as its
    /// own object), or an inline form that only gained signature fields.
    fn catalog_form_ok(&self, old: &Object, new: &Object) -> Verdict {
        let (Some(o), Some(n)) = (old.as_dict(), new.as_dict()) else {
            return Verdict::Forbidden("catalog changed".into());
        };
        match (o.get(b"AcroForm"), n.get(b"AcroForm")) {
            (Some(Object::Ref(a)), Some(Object::Ref(b))) if a == b => {
                Verdict::Allowed("signature bookkeeping")
            }
            (Some(Object::Dict(a)), Some(Object::Dict(b))) => self.form_dict_ok(a, b),
            (None, None) => Verdict::Allowed("signature bookkeeping"),
            _ => Verdict::Forbidden("form replaced".into()),
        }
    }

    /// A form that only gained new invisible signature fields.
    fn form_dict_ok(&self, of: &Dict, nf: &Dict) -> Verdict {
        let doc = self.doc;
        let mut a = of.clone();
        let mut b = nf.clone();
        // Signing may add fields, set SigFlags, and give fields a default
        // appearance and its fonts (/DA, /DR): none of it shows by itself.
        for d in [&mut a, &mut b] {
            d.remove(b"Fields");
            d.remove(b"SigFlags");
            d.remove(b"DA");
            d.remove(b"DR");
        }
        if !a.same_as(&b) {
            return Verdict::Forbidden("form changed".into());
        }
        let old_fields = of
            .get(b"Fields")
            .and_then(|f| doc.resolve(f, self.k).ok().flatten())
            .unwrap_or(Object::Array(Vec::new()));
        let new_fields = nf
            .get(b"Fields")
            .and_then(|f| doc.resolve(f, 0).ok().flatten())
            .unwrap_or(Object::Array(Vec::new()));
        self.array_growth(&old_fields, &new_fields, "form fields changed")
    }

    /// Allowed when `new` is `old` plus references to new invisible
    /// signature fields.
    fn array_growth(&self, old: &Object, new: &Object, what: &str) -> Verdict {
        let (Some(o), Some(n)) = (old.as_array(), new.as_array()) else {
            return Verdict::Forbidden(what.into());
        };
        if n.len() < o.len() || !o.iter().zip(n).all(|(a, b)| a.same_as(b)) {
            return Verdict::Forbidden(what.into());
        }
        let extras_ok = n[o.len()..].iter().all(|x| match x {
            Object::Ref(r) => {
                self.new_sig_fields.contains(r) || self.new_annotation_refs.contains(r)
            }
            _ => false,
        });
        if extras_ok {
            Verdict::Allowed("signature bookkeeping")
        } else {
            Verdict::Forbidden(what.into())
        }
    }
}

trait AndThenForm {
    fn and_then_form(self, f: impl FnOnce() -> Verdict) -> Verdict;
}

impl AndThenForm for Verdict {
    /// When the rest of the dictionary is unchanged, the form decides.
    fn and_then_form(self, f: impl FnOnce() -> Verdict) -> Verdict {
        match self {
            Verdict::Allowed(_) => f(),
            other => other,
        }
    }
}

/// The AcroForm's reference (if indirect), its Fields array's reference (if
/// indirect), and the field references.
fn fields_of(
    doc: &Document<'_>,
    cat: &Dict,
    rev: usize,
) -> Option<(Option<ObjRef>, Option<ObjRef>, Vec<ObjRef>)> {
    let form_obj = cat.get(b"AcroForm")?;
    let form_ref = match form_obj {
        Object::Ref(r) => Some(*r),
        _ => None,
    };
    let form = doc.dict(form_obj, rev).ok()??;
    let fields_obj = form.get(b"Fields")?;
    let fields_ref = match fields_obj {
        Object::Ref(r) => Some(*r),
        _ => None,
    };
    let fields = doc.resolve(fields_obj, rev).ok()??;
    let refs = fields
        .as_array()?
        .iter()
        .filter_map(|f| match f {
            Object::Ref(r) => Some(*r),
            _ => None,
        })
        .collect();
    Some((form_ref, fields_ref, refs))
}

/// The pages at revision `rev`, in order.
fn page_list(doc: &Document<'_>, rev: usize) -> Vec<ObjRef> {
    let mut out = Vec::new();
    let Some(root) = catalog(doc, rev).and_then(|c| c.reference(b"Pages")) else {
        return out;
    };
    let mut stack = vec![(root, 0usize)];
    let mut seen = HashSet::new();
    while let Some((r, depth)) = stack.pop() {
        if depth > 64 || out.len() > 100_000 || !seen.insert(r) {
            continue;
        }
        let Ok(Some(d)) = doc.dict(&Object::Ref(r), rev) else {
            continue;
        };
        match d
            .get(b"Kids")
            .and_then(|k| doc.resolve(k, rev).ok().flatten())
        {
            Some(Object::Array(kids)) if d.name(b"Type") != Some(b"Page") => {
                for k in kids.iter().rev() {
                    if let Object::Ref(k) = k {
                        stack.push((*k, depth + 1));
                    }
                }
            }
            _ => out.push(r),
        }
    }
    out
}

/// A widget that shows nothing: zero-area rectangle, or hidden.
fn invisible(d: &Dict) -> bool {
    let hidden = d.int(b"F").is_some_and(|f| f & 2 != 0);
    let zero = match d.get(b"Rect").and_then(Object::as_array) {
        Some([x1, y1, x2, y2]) => {
            let n = |o: &Object| match o {
                Object::Int(i) => *i as f64,
                Object::Real(r) => *r,
                _ => f64::NAN,
            };
            (n(x2) - n(x1)).abs() < 1e-6 || (n(y2) - n(y1)).abs() < 1e-6
        }
        None => d.get(b"Rect").is_none(),
        _ => false,
    };
    hidden || zero
}

/// Every object number reachable from `obj` at revision `rev`.
fn reach(doc: &Document<'_>, obj: &Object, seen: &mut HashSet<u32>, depth: usize, rev: usize) {
    if depth > 32 || seen.len() > 100_000 {
        return;
    }
    match obj {
        Object::Ref(r) if seen.insert(r.num) => {
            if let Ok(Some(o)) = doc.object_at(*r, rev) {
                reach(doc, &o, seen, depth + 1, rev);
            }
        }
        Object::Array(a) => a.iter().for_each(|o| reach(doc, o, seen, depth + 1, rev)),
        Object::Dict(d) => {
            d.0.iter()
                .for_each(|(_, o)| reach(doc, o, seen, depth + 1, rev))
        }
        Object::Stream(s) => s
            .dict
            .0
            .iter()
            .for_each(|(_, o)| reach(doc, o, seen, depth + 1, rev)),
        _ => {}
    }
}

fn describe(o: &Object) -> String {
    let Some(d) = o.as_dict() else {
        return match o {
            Object::Array(_) => "array".into(),
            _ => "object".into(),
        };
    };
    let ty = d
        .name(b"Type")
        .map(|t| String::from_utf8_lossy(t).into_owned());
    let sub = d
        .name(b"Subtype")
        .map(|t| String::from_utf8_lossy(t).into_owned());
    match (ty.as_deref(), sub.as_deref(), o) {
        (Some("Page"), _, _) => "page".into(),
        (Some("Pages"), _, _) => "page tree".into(),
        (Some("Catalog"), _, _) => "catalog".into(),
        (_, Some("Widget"), _) => "form widget".into(),
        (Some("Annot"), Some(s), _) | (None, Some(s), Object::Dict(_))
            if d.get(b"Rect").is_some() =>
        {
            format!("{s} annotation")
        }
        (_, Some("Image"), _) => "image".into(),
        (_, Some("Form"), _) => "form XObject (appearance)".into(),
        (_, _, Object::Stream(_)) => "content stream".into(),
        (Some(t), _, _) => t.to_owned(),
        _ => "dictionary".into(),
    }
}
