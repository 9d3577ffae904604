//! The certificate of originality: one A4 page drawn with printpdf, its
//! fonts subset and embedded, every word in the text layer.

use coffre_seal::{Indication, Report, SignatureKind, SignatureReport, Status};
use printpdf::{
    Color, Line, LinePoint, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, Rect, Rgb, TextItem,
};

use crate::fonts::{self, Face};
use crate::words::{self, Lang, Words};
use crate::{CopyOptions, Qr};

pub const WIDTH: f32 = 595.28;
pub const HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.0;
/// Where the label column ends and the values begin.
const LABEL_W: f32 = 150.0;
/// The QR code's side: 3 cm.
const QR_SIDE: f32 = 85.04;

const INK: (f32, f32, f32) = (0.0, 0.0, 0.0);
const GREY: (f32, f32, f32) = (0.33, 0.33, 0.33);
const NAVY: (f32, f32, f32) = (0.07, 0.18, 0.40);

pub struct Page<'a> {
    pub original: &'a [u8],
    pub report: &'a Report,
    pub options: &'a CopyOptions,
    /// Pages of the original.
    pub pages: usize,
}

/// What is drawn, before the fonts are known.
enum Mark {
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Face,
        color: (f32, f32, f32),
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<(f32, f32, f32)>,
        stroke: Option<((f32, f32, f32), f32)>,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        color: (f32, f32, f32),
        width: f32,
    },
}

struct Canvas {
    marks: Vec<Mark>,
    /// The baseline of the next line, from the bottom.
    y: f32,
}

impl Canvas {
    fn text(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        weight: Face,
        color: (f32, f32, f32),
        text: &str,
    ) {
        self.marks.push(Mark::Text {
            x,
            y,
            size,
            weight,
            color,
            text: text.to_owned(),
        });
    }

    fn centered(&mut self, size: f32, weight: Face, color: (f32, f32, f32), text: &str) {
        for line in fonts::wrap(text, weight, size, WIDTH - 2.0 * MARGIN) {
            let w = fonts::width(&line, weight, size);
            let y = self.y;
            self.text((WIDTH - w) / 2.0, y, size, weight, color, &line);
            self.y -= size * 1.3;
        }
    }

    /// Wrapped lines from `x` over `w` points; returns how many.
    fn paragraph(
        &mut self,
        x: f32,
        w: f32,
        size: f32,
        weight: Face,
        color: (f32, f32, f32),
        text: &str,
    ) -> usize {
        let lines = fonts::wrap(text, weight, size, w);
        for line in &lines {
            let y = self.y;
            self.text(x, y, size, weight, color, line);
            self.y -= size * 1.35;
        }
        lines.len()
    }

    fn heading(&mut self, text: &str) {
        self.y -= 8.0;
        let y = self.y;
        self.text(MARGIN, y, 11.5, Face::Bold, NAVY, text);
        self.marks.push(Mark::Line {
            from: (MARGIN, y - 4.0),
            to: (WIDTH - MARGIN, y - 4.0),
            color: NAVY,
            width: 0.6,
        });
        self.y -= 19.0;
    }

    /// A label and its value (several lines when `value` has line breaks
    /// or is long).
    fn row(&mut self, label: &str, value: &str) {
        let top = self.y;
        self.paragraph(MARGIN, LABEL_W - 10.0, 9.0, Face::Regular, GREY, label);
        let below_label = self.y;
        self.y = top;
        let x = MARGIN + LABEL_W;
        for part in value.split('\n') {
            self.paragraph(x, WIDTH - MARGIN - x, 10.0, Face::Regular, INK, part);
        }
        self.y = self.y.min(below_label) - 2.5;
    }
}

/// Draws the page and returns a one-page PDF.
pub fn draw(page: &Page<'_>) -> Result<Vec<u8>, crate::Error> {
    let lang = page.options.lang;
    let w = words::of(lang);
    let mut c = Canvas {
        marks: Vec::new(),
        y: HEIGHT - 62.0,
    };
    let status = page.report.status();
    let sig = decisive(page.report);

    // Title.
    c.centered(22.0, Face::Bold, NAVY, w.title);
    c.y -= 2.0;
    c.centered(11.0, Face::Regular, GREY, w.subtitle);
    c.y -= 4.0;
    c.marks.push(Mark::Line {
        from: (MARGIN, c.y + 6.0),
        to: (WIDTH - MARGIN, c.y + 6.0),
        color: NAVY,
        width: 1.2,
    });
    c.y -= 14.0;

    verdict(&mut c, w, lang, status, sig);

    // The document.
    let facts = &page.options.facts;
    let unknown = || w.unknown.to_owned();
    c.heading(w.section_document);
    c.row(w.doc_title, &facts.title.clone().unwrap_or_else(unknown));
    c.row(
        w.kind,
        &facts
            .kind
            .as_deref()
            .map_or_else(unknown, |k| words::kind(lang, k)),
    );
    c.row(w.year, &facts.year.clone().unwrap_or_else(unknown));
    c.row(w.student, &facts.student.clone().unwrap_or_else(unknown));
    let issuer = facts
        .issuer
        .clone()
        .or_else(|| sig.and_then(|s| s.signer.as_ref()?.organization.clone()))
        .unwrap_or_else(unknown);
    c.row(w.issuer, &issuer);
    c.row(w.pages, &page.pages.to_string());

    // The seal.
    if let Some(sig) = sig {
        c.heading(w.section_seal);
        if let Some(signer) = &sig.signer {
            c.row(w.seal_subject, &signer.subject);
            c.row(w.serial, &serial(&signer.serial));
            c.row(
                w.validity,
                &w.validity_between
                    .replace("{from}", &words::date(lang, signer.not_before))
                    .replace("{to}", &words::date(lang, signer.not_after)),
            );
        }
        if !sig.chain.is_empty() {
            c.row(w.chain, &sig.chain.join("\n"));
        }
        let proven = sig.timestamp.as_ref().filter(|t| t.valid);
        if let Some(t) = proven.map(|t| t.time).or(sig.claimed_signing_time) {
            let note = if proven.is_some() {
                w.timestamp_yes
            } else {
                w.timestamp_no
            };
            c.row(
                w.sealed_at,
                &format!("{} {note}", words::date_time(lang, t)),
            );
        }
    }

    // The check.
    c.heading(w.section_check);
    c.row(w.result, &result_words(lang, status, sig));
    c.row(
        w.revocation,
        &page.options.revocation_date.map_or_else(
            || w.revocation_none.to_owned(),
            |t| words::date_time(lang, t),
        ),
    );
    c.row(
        w.printed_at,
        &words::date_time(lang, page.options.printed_at),
    );
    let digest = coffre_seal::hex(&coffre_seal::sha256(page.original));
    c.row(w.digest, &grouped(&digest));

    qr_block(&mut c, w, page)?;

    // Footer.
    c.y = 40.0;
    c.centered(8.0, Face::Regular, GREY, w.footer);
    c.centered(
        8.0,
        Face::Regular,
        GREY,
        &format!("{} / {}", page.pages + 1, page.pages + 1),
    );

    render(c.marks, w.title)
}

/// The signature the page is about: the worst, an organisation's seal
/// before a later document time-stamp.
fn decisive(report: &Report) -> Option<&SignatureReport> {
    report
        .signatures
        .iter()
        .max_by_key(|s| (s.indication, u8::from(s.kind == SignatureKind::Signature)))
}

/// The verdict first, in a box: plain words, no green, and nothing that
/// sounds like "valid" unless the seal held.
fn verdict(c: &mut Canvas, w: &Words, lang: Lang, status: Status, sig: Option<&SignatureReport>) {
    let (headline, more) = match status {
        Status::TotalPassed => (w.passed, w.passed_more),
        Status::Indeterminate => (w.indeterminate, w.indeterminate_more),
        Status::TotalFailed => (w.failed, w.failed_more),
        Status::NoSignature => (w.no_seal, w.no_seal_more),
    };
    let passed = status == Status::TotalPassed;
    let (color, border) = if passed { (NAVY, 1.2) } else { (INK, 3.0) };
    let top = c.y + 14.0;
    let pad = 12.0;
    let inner = WIDTH - 2.0 * MARGIN - 2.0 * pad;
    c.y -= 4.0;
    c.paragraph(MARGIN + pad, inner, 13.0, Face::Bold, color, headline);
    c.y -= 1.0;
    c.paragraph(MARGIN + pad, inner, 10.0, Face::Regular, INK, more);
    if let Some(why) = sig.and_then(|s| s.sub_indication).filter(|_| !passed) {
        c.paragraph(
            MARGIN + pad,
            inner,
            10.0,
            Face::Bold,
            INK,
            &format!(
                "{}{} {}",
                w.reason,
                if lang == Lang::Fr { " :" } else { ":" },
                words::reason(lang, why.as_str())
            ),
        );
    }
    let bottom = c.y + 4.0;
    c.marks.push(Mark::Rect {
        x: MARGIN,
        y: bottom,
        w: WIDTH - 2.0 * MARGIN,
        h: top - bottom,
        fill: None,
        stroke: Some((color, border)),
    });
    c.y = bottom - 14.0;
}

fn result_words(lang: Lang, status: Status, sig: Option<&SignatureReport>) -> String {
    let what = match (status, lang) {
        (Status::TotalPassed, Lang::Fr) => {
            "sceau intact, émis par une autorité de confiance".to_owned()
        }
        (Status::TotalPassed, Lang::En) => "seal intact, issued by a trusted authority".to_owned(),
        (Status::NoSignature, Lang::Fr) => "aucun sceau".to_owned(),
        (Status::NoSignature, Lang::En) => "no seal".to_owned(),
        _ => sig
            .and_then(|s| s.sub_indication)
            .map_or_else(String::new, |sub| words::reason(lang, sub.as_str())),
    };
    let indication = match sig.map(|s| s.indication) {
        Some(Indication::TotalPassed) if status == Status::TotalPassed => "TOTAL_PASSED",
        _ => status.as_str(),
    };
    if what.is_empty() {
        indication.to_owned()
    } else {
        format!("{indication} \u{2014} {what}")
    }
}

/// `1a2b…` as `1A:2B:…`.
fn serial(hex: &str) -> String {
    let up = hex.to_ascii_uppercase();
    let bytes: Vec<&str> = up
        .as_bytes()
        .chunks(2)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    bytes.join(":")
}

/// 64 hex digits in 16 groups of 4, on two lines: easy to read aloud.
pub(crate) fn grouped(hex: &str) -> String {
    let groups: Vec<&str> = hex
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let half = groups.len().div_ceil(2);
    format!("{}\n{}", groups[..half].join(" "), groups[half..].join(" "))
}

fn qr_block(c: &mut Canvas, w: &Words, page: &Page<'_>) -> Result<(), crate::Error> {
    let (text, explain) = match &page.options.qr {
        Qr::Attestation(url) => (url.clone(), w.qr_attested),
        Qr::DigestOnly => (crate::digest_text(page.original), w.qr_not_certified),
    };
    let matrix = crate::qr::encode(&text)?;
    // At the bottom of the page, above the footer.
    let bottom = 70.0;
    let top = bottom + QR_SIDE + 24.0;
    c.y = top + 14.0;
    c.heading(w.section_qr);
    let module = QR_SIDE / matrix.size as f32;
    let (x0, y0) = (MARGIN, bottom + 6.0);
    for (col, row, len) in &matrix.runs {
        c.marks.push(Mark::Rect {
            x: x0 + *col as f32 * module,
            y: y0 + QR_SIDE - (*row as f32 + 1.0) * module,
            w: *len as f32 * module,
            h: module,
            fill: Some(INK),
            stroke: None,
        });
    }
    let x = MARGIN + QR_SIDE + 18.0;
    c.y = y0 + QR_SIDE - 10.0;
    c.paragraph(x, WIDTH - MARGIN - x, 9.5, Face::Regular, INK, explain);
    Ok(())
}

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

/// The marks as a one-page PDF, with only the faces they use.
fn render(marks: Vec<Mark>, title: &str) -> Result<Vec<u8>, crate::Error> {
    let mut doc = PdfDocument::new(title);
    // Each face used, subset to the characters it shows.
    let mut used: std::collections::BTreeMap<Face, std::collections::BTreeSet<char>> =
        std::collections::BTreeMap::new();
    for mark in &marks {
        if let Mark::Text { weight, text, .. } = mark {
            for (face, run) in fonts::runs(text, *weight) {
                used.entry(face).or_default().extend(run.chars());
            }
        }
    }
    let mut ids = std::collections::BTreeMap::new();
    for (face, chars) in &used {
        let font = face.subset(chars).ok_or(crate::Error::Pdf(format!(
            "the font {face:?} could not be subset"
        )))?;
        ids.insert(*face, doc.add_font(&font));
    }
    let mut ops = Vec::with_capacity(marks.len() * 6);
    for mark in marks {
        match mark {
            Mark::Text {
                x,
                y,
                size,
                weight,
                color,
                text,
            } => {
                ops.push(Op::StartTextSection);
                ops.push(Op::SetFillColor { col: rgb(color) });
                ops.push(Op::SetTextCursor {
                    pos: Point { x: Pt(x), y: Pt(y) },
                });
                for (face, run) in fonts::runs(&text, weight) {
                    let Some(id) = ids.get(&face).cloned() else {
                        continue;
                    };
                    ops.push(Op::SetFont {
                        font: PdfFontHandle::External(id),
                        size: Pt(size),
                    });
                    ops.push(Op::ShowText {
                        items: vec![TextItem::Text(run)],
                    });
                }
                ops.push(Op::EndTextSection);
            }
            Mark::Rect {
                x,
                y,
                w,
                h,
                fill,
                stroke,
            } => {
                ops.push(Op::SaveGraphicsState);
                if let Some(f) = fill {
                    ops.push(Op::SetFillColor { col: rgb(f) });
                }
                if let Some((s, width)) = stroke {
                    ops.push(Op::SetOutlineColor { col: rgb(s) });
                    ops.push(Op::SetOutlineThickness { pt: Pt(width) });
                }
                ops.push(Op::DrawRectangle {
                    rectangle: Rect {
                        x: Pt(x),
                        y: Pt(y),
                        width: Pt(w),
                        height: Pt(h),
                        mode: Some(match (fill, stroke) {
                            (Some(_), Some(_)) => PaintMode::FillStroke,
                            (None, Some(_)) => PaintMode::Stroke,
                            _ => PaintMode::Fill,
                        }),
                        winding_order: None,
                    },
                });
                ops.push(Op::RestoreGraphicsState);
            }
            Mark::Line {
                from,
                to,
                color,
                width,
            } => {
                ops.push(Op::SaveGraphicsState);
                ops.push(Op::SetOutlineColor { col: rgb(color) });
                ops.push(Op::SetOutlineThickness { pt: Pt(width) });
                ops.push(Op::DrawLine {
                    line: Line {
                        points: vec![
                            LinePoint {
                                p: Point {
                                    x: Pt(from.0),
                                    y: Pt(from.1),
                                },
                                bezier: false,
                            },
                            LinePoint {
                                p: Point {
                                    x: Pt(to.0),
                                    y: Pt(to.1),
                                },
                                bezier: false,
                            },
                        ],
                        is_closed: false,
                    },
                });
                ops.push(Op::RestoreGraphicsState);
            }
        }
    }
    let page = PdfPage::new(
        printpdf::Mm(WIDTH * 25.4 / 72.0),
        printpdf::Mm(HEIGHT * 25.4 / 72.0),
        ops,
    );
    doc.with_pages(vec![page]);
    Ok(doc.save(&PdfSaveOptions::default(), &mut Vec::new()))
}
