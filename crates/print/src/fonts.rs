//! The certificate page's fonts: DejaVu Sans (Latin with Vietnamese,
//! Greek, Cyrillic) and Droid Sans Fallback for the Chinese, Japanese and
//! Korean characters DejaVu lacks. Parsed once per process; each page
//! embeds a subset of those it uses.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use printpdf::ParsedFont;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");
static CJK: &[u8] = include_bytes!("../fonts/DroidSansFallback.ttf");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Face {
    Regular,
    Bold,
    Cjk,
}

impl Face {
    fn bytes(self) -> &'static [u8] {
        match self {
            Face::Regular => REGULAR,
            Face::Bold => BOLD,
            Face::Cjk => CJK,
        }
    }

    /// A font of this face with only the glyphs of `chars`, to embed.
    pub fn subset(self, chars: &BTreeSet<char>) -> Option<ParsedFont> {
        use allsorts::binary::read::ReadScope;
        use allsorts::font_data::FontData;
        use allsorts::subset::{subset, CmapTarget, SubsetProfile};
        let file = ReadScope::new(self.bytes()).read::<FontData<'_>>().ok()?;
        let provider = file.table_provider(0).ok()?;
        let full = self.parsed();
        let mut glyphs: Vec<u16> = chars
            .iter()
            .filter_map(|c| full.lookup_glyph_index(*c as u32))
            .filter(|g| *g != 0)
            .collect();
        glyphs.sort_unstable();
        glyphs.dedup();
        // .notdef first, as every font has it.
        glyphs.insert(0, 0);
        let bytes = subset(&provider, &glyphs, &SubsetProfile::Pdf, CmapTarget::Unicode).ok()?;
        ParsedFont::from_bytes(&bytes, 0, &mut Vec::new())
    }

    pub fn parsed(self) -> &'static ParsedFont {
        static FONTS: OnceLock<[ParsedFont; 3]> = OnceLock::new();
        let fonts = FONTS.get_or_init(|| {
            let parse = |bytes: &[u8]| {
                // The fonts are part of the build: a failure is a bug.
                #[allow(clippy::expect_used)]
                ParsedFont::from_bytes(bytes, 0, &mut Vec::new()).expect("an embedded font parses")
            };
            [parse(REGULAR), parse(BOLD), parse(CJK)]
        });
        &fonts[self as usize]
    }

    fn has(self, c: char) -> bool {
        self.parsed()
            .lookup_glyph_index(c as u32)
            .is_some_and(|g| g != 0)
    }
}

/// `text` cut into runs that one face can show: `weight` (regular or bold)
/// where it has the character, the CJK face where it does not. Characters
/// no face has stay with `weight` (they print as a box, and stay in the
/// text layer).
pub fn runs(text: &str, weight: Face) -> Vec<(Face, String)> {
    let mut out: Vec<(Face, String)> = Vec::new();
    for c in text.chars() {
        let face = if c.is_whitespace() || weight.has(c) || !Face::Cjk.has(c) {
            weight
        } else {
            Face::Cjk
        };
        match out.last_mut() {
            Some((f, s)) if *f == face => s.push(c),
            _ => out.push((face, c.to_string())),
        }
    }
    out
}

/// Width of `text` in points at `size`, as [`runs`] would print it.
pub fn width(text: &str, weight: Face, size: f32) -> f32 {
    runs(text, weight)
        .iter()
        .map(|(face, s)| {
            let font = face.parsed();
            let upem = f32::from(font.units_per_em.max(1));
            let units: u32 = s
                .chars()
                .map(|c| {
                    font.lookup_glyph_index(c as u32)
                        .and_then(|g| font.get_glyph_width(g))
                        .map_or(u32::from(font.units_per_em / 2), u32::from)
                })
                .sum();
            units as f32 / upem * size
        })
        .sum()
}

/// Lines of at most `max` points, broken at spaces (a word longer than a
/// line is broken where it must be).
pub fn wrap(text: &str, weight: Face, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if width(&candidate, weight, size) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone, cut where it overflows.
        for c in word.chars() {
            line.push(c);
            if width(&line, weight, size) > max && line.chars().count() > 1 {
                let last = line.pop().unwrap_or(' ');
                lines.push(std::mem::take(&mut line));
                line.push(last);
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}
