//! Progress as CSV (RFC 4180: CRLF line ends, fields with `,` `"` CR or LF quoted, `"` doubled), a line per
//! learner, lesson and step. A cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`,
//! tab or CR: a learner's error message is theirs to write) gets a `'` first.

use slipway::api::ClassSnapshot;

const HEADER: &[&str] = &[
    "learner",
    "lesson",
    "step",
    "title",
    "passed_at",
    "vouched",
    "current_step",
    "online",
    "last_error_command",
    "last_error",
];

/// One cell as RFC 4180 writes it, guarded against formula injection.
pub fn cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Unix seconds as RFC 3339 UTC (`2026-12-07T09:40:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The CSV of `snapshot`; `titles`: each lesson's id and step titles.
pub fn progress_csv(snapshot: &ClassSnapshot, titles: &[(String, Vec<String>)]) -> String {
    let mut out = HEADER.join(",") + "\r\n";
    for row in &snapshot.learners {
        for lesson in &row.lessons {
            let steps = titles.iter().find(|(id, _)| *id == lesson.lesson).map(|(_, t)| t);
            for (i, mark) in lesson.steps.iter().enumerate() {
                let title = steps.and_then(|t| t.get(i)).cloned().unwrap_or_default();
                let error = row.last_error.as_ref();
                let cells = [
                    row.name.clone(),
                    lesson.lesson.clone(),
                    (i + 1).to_string(),
                    title,
                    mark.passed_at.map(rfc3339).unwrap_or_default(),
                    mark.vouched.to_string(),
                    (lesson.current_step + 1).to_string(),
                    row.online.to_string(),
                    error.map(|e| e.command.clone()).unwrap_or_default(),
                    error.map(|e| e.error.clone()).unwrap_or_default(),
                ];
                let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway::api::{FailedCommand, LearnerRow, LessonProgress, StepMark};

    #[test]
    fn cells_are_quoted_as_rfc_4180_and_formulas_are_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn times_read_as_rfc_3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_636_400), "2026-12-07T09:40:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn a_line_per_learner_and_step() {
        let snapshot = ClassSnapshot {
            taken_at: 0,
            learners: vec![LearnerRow {
                name: "learner1".into(),
                lessons: vec![LessonProgress {
                    lesson: "l".into(),
                    steps: vec![
                        StepMark {
                            passed_at: Some(0),
                            vouched: true,
                        },
                        StepMark::default(),
                    ],
                    current_step: 1,
                }],
                last_error: Some(FailedCommand {
                    command: "docker build (RUN false)".into(),
                    error: "=cmd|' /C calc'!A0".into(),
                    at: 0,
                }),
                ..LearnerRow::default()
            }],
            funnels: vec![],
            ends_at: None,
        };
        let titles = vec![(
            "l".to_string(),
            vec!["Build, then run".to_string(), "Push".to_string()],
        )];
        let text = progress_csv(&snapshot, &titles);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("learner,lesson,step,"));
        assert_eq!(
            lines[1],
            "learner1,l,1,\"Build, then run\",1970-01-01T00:00:00Z,true,2,false,docker build (RUN false),'=cmd|' /C calc'!A0"
        );
        assert!(
            lines[2].starts_with("learner1,l,2,Push,,false,2,"),
            "{}",
            lines[2]
        );
    }
}
