//! A QR code as runs of dark modules, to draw as filled rectangles: vector
//! modules print sharp at any size and cost a few bytes each.

use qrcode::{Color, EcLevel, QrCode};

pub struct Matrix {
    /// Modules on a side, without the quiet zone.
    pub size: usize,
    /// Dark runs: (column, row from the top, length).
    pub runs: Vec<(usize, usize, usize)>,
}

/// The code for `text`, at error correction level M (15% of the code may
/// be lost), level L when M does not fit. The encoder picks the most
/// compact mode for each part (a URL's base32 tail is alphanumeric).
pub fn encode(text: &str) -> Result<Matrix, crate::Error> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L))
        .map_err(|_| crate::Error::QrTooLong)?;
    let size = code.width();
    let colors = code.to_colors();
    let mut runs = Vec::new();
    for row in 0..size {
        let mut col = 0;
        while col < size {
            if colors[row * size + col] == Color::Dark {
                let start = col;
                while col < size && colors[row * size + col] == Color::Dark {
                    col += 1;
                }
                runs.push((start, row, col - start));
            } else {
                col += 1;
            }
        }
    }
    Ok(Matrix { size, runs })
}
