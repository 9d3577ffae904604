//! Roster files as organisations write them, checked whole before anything
//! is sent or stored: every bad row is reported with its line number.
//!
//! `student_number,last_name,first_name,birth_date,institutional_email[,refused]`
//! (a header line is allowed).

use crate::RosterRow;

/// Parses and checks a whole roster; every bad row is reported with its
/// line number, and nothing is imported unless every row is good.
pub fn parse_roster(text: &str) -> Result<Vec<RosterRow>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: unreadable ({e})"));
                continue;
            }
        };
        if line == 1
            && record
                .get(0)
                .is_some_and(|f| f.eq_ignore_ascii_case("student_number"))
        {
            continue;
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        match roster_row(&record) {
            Ok(row) => {
                if let Some(first) = seen.insert(row.student_number.clone(), line) {
                    errors.push(format!(
                        "line {line}: student number {} already on line {first}",
                        row.student_number
                    ));
                } else {
                    rows.push(row);
                }
            }
            Err(why) => errors.push(format!("line {line}: {why}")),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn roster_row(r: &csv::StringRecord) -> Result<RosterRow, String> {
    if r.len() < 5 || r.len() > 6 {
        return Err(format!("expected 5 or 6 fields, found {}", r.len()));
    }
    let field = |i: usize| r.get(i).unwrap_or_default().to_owned();
    let student_number = field(0);
    if student_number.is_empty()
        || student_number.len() > 32
        || !student_number.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(format!(
            "student number {student_number:?} must be 1 to 32 letters or digits"
        ));
    }
    let (last_name, first_name) = (field(1), field(2));
    if last_name.is_empty()
        || first_name.is_empty()
        || last_name.len() > 200
        || first_name.len() > 200
    {
        return Err("last and first names are required".into());
    }
    let birth_date = field(3);
    if !valid_date(&birth_date) {
        return Err(format!(
            "birth date {birth_date:?} is not a date like 2004-09-17"
        ));
    }
    let institutional_email = field(4).to_ascii_lowercase();
    if !valid_email(&institutional_email) {
        return Err(format!("{institutional_email:?} is not an e-mail address"));
    }
    let refused = match field(5).to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "non" => false,
        "1" | "true" | "yes" | "oui" | "refused" | "refus" => true,
        other => {
            return Err(format!(
                "refused column {other:?} should be 1/0, true/false or yes/no"
            ))
        }
    };
    Ok(RosterRow {
        student_number,
        last_name,
        first_name,
        birth_date,
        institutional_email,
        refused,
    })
}

fn valid_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    s.len() == 10
        && (1900..=2100).contains(&y)
        && (1..=12).contains(&m)
        && d >= 1
        && d <= days[(m - 1) as usize]
}

/// Whether `s` is an address we take (see [`crate::Email`]).
pub fn valid_email(s: &str) -> bool {
    crate::Email::parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rosters_are_checked_whole_with_line_numbers() {
        let good = "student_number,last_name,first_name,birth_date,institutional_email,refused\n\
                    A1,Dupont,Camille,2004-09-17,camille.dupont@etu.univ.example\n\
                    A2,Martin,Lucas,2003-02-28,lucas.martin@etu.univ.example,1\n";
        let rows = parse_roster(good).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[1].refused && !rows[0].refused);

        let bad = "A1,Dupont,Camille,2004-02-30,camille@etu.univ.example\n\
                   A-2,Martin,Lucas,2003-02-28,lucas@etu.univ.example\n\
                   A3,Petit,Hugo,2003-02-28,not-an-email\n\
                   A4,Bernard,Ines,2003-02-28,ines@etu.univ.example,maybe\n\
                   A5,Roux,Lea,2003-02-28,lea@etu.univ.example\n\
                   A5,Roux,Lea,2003-02-28,lea@etu.univ.example\n\
                   A6,Short\n";
        let errors = parse_roster(bad).unwrap_err();
        let lines: Vec<&str> = errors
            .iter()
            .map(|e| e.split(':').next().unwrap())
            .collect();
        assert_eq!(
            lines,
            ["line 1", "line 2", "line 3", "line 4", "line 6", "line 7"],
            "{errors:#?}"
        );
    }
}
