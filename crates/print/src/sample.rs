//! Deterministic sample documents for demos, tests, examples, benchmarks
//! and fuzz seeds: what a university would deposit. PDF 1.7, a classic
//! (uncompressed) cross-reference table with exact offsets, a trailer with
//! /Size, /Root and /ID, nothing compressed. Every byte follows from the
//! arguments: the same call gives the same file.

/// A one-page A4 transcript of about 120 KB: Helvetica text (university,
/// title, student, ten course lines with grades) and an uncompressed RGB
/// "logo" image of about 110 KB of pseudo-random pixels derived from `seed`.
pub fn transcript_pdf(seed: u64, student: &str) -> Vec<u8> {
    let mut rng = SplitMix64(seed);
    let mut pdf = PdfWriter::new();

    let content = transcript_content(&mut rng, student);
    let (logo_width, logo_height) = (210, 184); // 210 * 184 * 3 = 115,920 bytes
    let logo = logo_pixels(&mut rng, logo_width, logo_height);

    letterhead_page(&mut pdf, &content, &logo, (logo_width, logo_height));
    pdf.object(
        8,
        format!(
            "<< /Title (Releve de notes / Transcript - {}) /Producer (Coffre sample generator) >>",
            pdf_text(student)
        )
        .as_bytes(),
    );
    pdf.finish(Some(8), &mut rng)
}

/// A tiny PDF with `pages` pages (at least one), each showing "Page N":
/// about 0.5 KB plus 0.25 KB a page.
pub fn small_pdf(pages: usize) -> Vec<u8> {
    let pages = pages.max(1);
    let mut rng = SplitMix64(0x5eed_0000 ^ pages as u64);
    let mut pdf = PdfWriter::new();
    // 1 catalog, 2 pages, 3 font, then (page, content) pairs from 4 on.
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    pdf.object(1, b"<< /Type /Catalog /Pages 2 0 R >>");
    pdf.object(
        2,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .as_bytes(),
    );
    pdf.object(3, font("Helvetica").as_bytes());
    for i in 0..pages {
        let page = 4 + 2 * i;
        pdf.object(
            page,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                page + 1
            )
            .as_bytes(),
        );
        let text = format!("BT /F1 24 Tf 72 760 Td (Page {}) Tj ET\n", i + 1);
        pdf.stream(page + 1, "", text.as_bytes());
    }
    pdf.finish(None, &mut rng)
}

/// A three-page document of mixed sizes: A4 portrait, US Letter, and an A4
/// page turned a quarter (`/Rotate 90`), each with a heading and a line of
/// text; about 1.5 KB.
pub fn mixed_pdf() -> Vec<u8> {
    let mut rng = SplitMix64(0x5eed_00ed);
    let mut pdf = PdfWriter::new();
    // 1 catalog, 2 pages, 3 and 4 fonts, then (page, content) pairs.
    let pages = [
        ("[0 0 595 842]", "", "Page 1 - A4", "Format A4 / A4 size"),
        (
            "[0 0 612 792]",
            "",
            "Page 2 - Letter",
            "Format Letter / US Letter size",
        ),
        (
            "[0 0 595 842]",
            " /Rotate 90",
            "Page 3 - A4 paysage / landscape",
            "Page tournee / Rotated page",
        ),
    ];
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 5 + 2 * i))
        .collect();
    pdf.object(1, b"<< /Type /Catalog /Pages 2 0 R >>");
    pdf.object(
        2,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .as_bytes(),
    );
    pdf.object(3, font("Helvetica").as_bytes());
    pdf.object(4, font("Helvetica-Bold").as_bytes());
    for (i, (media, rotate, title, line)) in pages.iter().enumerate() {
        let page = 5 + 2 * i;
        pdf.object(
            page,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox {media}{rotate} \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                page + 1
            )
            .as_bytes(),
        );
        let text =
            format!("BT /F2 20 Tf 72 700 Td ({title}) Tj /F1 12 Tf 0 -30 Td ({line}) Tj ET\n");
        pdf.stream(page + 1, "", text.as_bytes());
    }
    pdf.finish(None, &mut rng)
}

/// A one-page certificate of achievement of about 120 KB, the transcript's
/// look (logo, FR/EN) with the degree instead of the grades.
pub fn certificate_pdf(seed: u64, student: &str) -> Vec<u8> {
    let mut rng = SplitMix64(seed ^ 0xce47);
    let mut pdf = PdfWriter::new();
    let student_text = pdf_text(student);
    let (logo_width, logo_height) = (210, 184);
    let logo = logo_pixels(&mut rng, logo_width, logo_height);
    let content = format!(
        "q 120 0 0 110 40 692 cm /Im1 Do Q\n\
         BT\n/F2 18 Tf 180 770 Td (Universite de Coffre-sur-Seine) Tj\n\
         /F1 11 Tf 0 -18 Td (Service de la scolarite / Registrar's office) Tj\nET\n\
         BT\n/F2 20 Tf 40 600 Td (Attestation de reussite / Certificate of achievement) Tj\n\
         /F1 12 Tf 0 -40 Td (Le president de l'universite atteste que / The president certifies that) Tj\n\
         /F2 14 Tf 0 -28 Td ({student_text}) Tj\n\
         /F1 12 Tf 0 -28 Td (a obtenu la Licence Informatique / was awarded the Bachelor of Computer Science) Tj\n\
         0 -18 Td (Annee universitaire / Academic year: 2025-2026 - Mention Bien / with honours) Tj\nET\n\
         BT /F1 9 Tf 40 80 Td (Document scelle electroniquement / Electronically sealed document.) Tj ET\n"
    );
    letterhead_page(&mut pdf, &content, &logo, (logo_width, logo_height));
    pdf.finish(None, &mut rng)
}

const COURSES: [&str; 16] = [
    "Algebre lineaire / Linear algebra",
    "Analyse / Calculus",
    "Probabilites / Probability",
    "Statistiques / Statistics",
    "Algorithmique / Algorithms",
    "Programmation / Programming",
    "Bases de donnees / Databases",
    "Reseaux / Networks",
    "Systemes / Operating systems",
    "Compilation / Compilers",
    "Cryptographie / Cryptography",
    "Anglais / English",
    "Economie / Economics",
    "Droit du numerique / Digital law",
    "Physique / Physics",
    "Projet / Project",
];

fn transcript_content(rng: &mut SplitMix64, student: &str) -> String {
    let student = pdf_text(student);
    let number = 20_000_000 + rng.next() % 10_000_000;
    let mut s = String::new();
    // Logo, top left: 120 x 110 pt.
    s.push_str("q 120 0 0 110 40 692 cm /Im1 Do Q\n");
    s.push_str("BT\n/F2 18 Tf 180 770 Td (Universite de Coffre-sur-Seine) Tj\n");
    s.push_str("/F1 11 Tf 0 -18 Td (Service de la scolarite / Registrar's office) Tj\nET\n");
    s.push_str("BT\n/F2 16 Tf 40 650 Td (Releve de notes / Transcript) Tj\n");
    s.push_str(&format!(
        "/F1 11 Tf 0 -24 Td (Etudiant / Student: {student}) Tj\n\
         0 -15 Td (Numero etudiant / Student number: {number}) Tj\n\
         0 -15 Td (Annee universitaire / Academic year: 2025-2026) Tj\nET\n"
    ));
    s.push_str("BT\n/F2 11 Tf 40 560 Td (Unite d'enseignement / Course) Tj\n");
    s.push_str("330 0 Td (ECTS) Tj\n70 0 Td (Note / Grade) Tj\nET\n");
    s.push_str("0.5 w 40 552 m 555 552 l S\n");
    let mut total = 0u64;
    let mut y = 534;
    let first = (rng.next() % COURSES.len() as u64) as usize;
    for i in 0..10 {
        let course = COURSES[(first + i) % COURSES.len()];
        let ects = 3 + rng.next() % 4;
        let grade_tenths = 80 + rng.next() % 121; // 8.0 to 20.0
        total += grade_tenths;
        s.push_str(&format!(
            "BT /F1 11 Tf 40 {y} Td ({course}) Tj 330 0 Td ({ects}) Tj \
             70 0 Td ({}.{} / 20) Tj ET\n",
            grade_tenths / 10,
            grade_tenths % 10
        ));
        y -= 20;
    }
    s.push_str(&format!("0.5 w 40 {} m 555 {} l S\n", y + 12, y + 12));
    let mean = total / 10;
    s.push_str(&format!(
        "BT /F2 11 Tf 40 {} Td (Moyenne / Average: {}.{} / 20 - Admis / Passed) Tj ET\n",
        y - 8,
        mean / 10,
        mean % 10
    ));
    s.push_str(
        "BT /F1 9 Tf 40 80 Td (Document scelle electroniquement / Electronically sealed document.) Tj \
         0 -12 Td (Verifiez-le avec / Verify it with: coffre verify) Tj ET\n",
    );
    s
}

/// Pixels that look a little like a crest: a colour field from the seed with
/// pseudo-random grain, so the bytes do not compress into nothing.
fn logo_pixels(rng: &mut SplitMix64, width: usize, height: usize) -> Vec<u8> {
    let base = rng.next().to_le_bytes();
    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let grain = rng.next().to_le_bytes();
            let shade = ((x + y) * 255 / (width + height)) as u8;
            pixels.push(base[0] / 2 + shade / 4 + grain[0] / 4);
            pixels.push(base[1] / 2 + (255 - shade) / 4 + grain[1] / 4);
            pixels.push(base[2] / 2 + grain[2] / 2);
        }
    }
    pixels
}

/// Objects 1 to 7 of a one-page A4 document on the university's
/// letterhead: catalog, page tree, page, its content, Helvetica and
/// Helvetica-Bold (F1, F2), and the logo (Im1).
fn letterhead_page(pdf: &mut PdfWriter, content: &str, logo: &[u8], (w, h): (usize, usize)) {
    pdf.object(1, b"<< /Type /Catalog /Pages 2 0 R >>");
    pdf.object(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    pdf.object(
        3,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
          /Resources << /Font << /F1 5 0 R /F2 6 0 R >> /XObject << /Im1 7 0 R >> >> \
          /Contents 4 0 R >>",
    );
    pdf.stream(4, "", content.as_bytes());
    pdf.object(5, font("Helvetica").as_bytes());
    pdf.object(6, font("Helvetica-Bold").as_bytes());
    pdf.stream(
        7,
        &format!(
            "/Type /XObject /Subtype /Image /Width {w} /Height {h} \
             /ColorSpace /DeviceRGB /BitsPerComponent 8"
        ),
        logo,
    );
}

fn font(base: &str) -> String {
    format!("<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>")
}

/// Text for a PDF literal string: printable ASCII only (so any encoding
/// shows it), with the three delimiters escaped.
fn pdf_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// Writes numbered objects in order and remembers where each one starts.
struct PdfWriter {
    buf: Vec<u8>,
    offsets: Vec<usize>,
}

impl PdfWriter {
    fn new() -> Self {
        // The comment line with high bytes tells tools the file is binary.
        let mut buf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        buf.reserve(128 * 1024);
        PdfWriter {
            buf,
            offsets: Vec::new(),
        }
    }

    /// Objects must be written as 1, 2, 3, … so the table has no holes.
    fn begin(&mut self, number: usize) {
        assert_eq!(number, self.offsets.len() + 1, "objects out of order");
        self.offsets.push(self.buf.len());
        self.buf
            .extend_from_slice(format!("{number} 0 obj\n").as_bytes());
    }

    fn object(&mut self, number: usize, body: &[u8]) {
        self.begin(number);
        self.buf.extend_from_slice(body);
        self.buf.extend_from_slice(b"\nendobj\n");
    }

    fn stream(&mut self, number: usize, dict_entries: &str, data: &[u8]) {
        self.begin(number);
        let sep = if dict_entries.is_empty() { "" } else { " " };
        self.buf.extend_from_slice(
            format!("<< {dict_entries}{sep}/Length {} >>\nstream\n", data.len()).as_bytes(),
        );
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\nendstream\nendobj\n");
    }

    fn finish(mut self, info: Option<usize>, rng: &mut SplitMix64) -> Vec<u8> {
        let xref = self.buf.len();
        let size = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {size}\n0000000000 65535 f \n");
        for offset in &self.offsets {
            table.push_str(&format!("{offset:010} 00000 n \n"));
        }
        let id: String = (0..2).map(|_| format!("{:016x}", rng.next())).collect();
        let info = info.map_or(String::new(), |n| format!(" /Info {n} 0 R"));
        table.push_str(&format!(
            "trailer\n<< /Size {size} /Root 1 0 R{info} /ID [<{id}> <{id}>] >>\nstartxref\n{xref}\n%%EOF\n"
        ));
        self.buf.extend_from_slice(table.as_bytes());
        self.buf
    }
}

/// Small, fast, seedable and the same everywhere (unlike std's hasher).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_b9b5);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
