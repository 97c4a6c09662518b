//! Classroom mode (issue 15): the sign-in with a join code ([`super::paths::CLASSROOM_JOIN`]) and what
//! `/api/info` says about the class ([`ClassroomInfo`]).

use serde::{Deserialize, Serialize};

/// `POST /api/classroom/join`: a learner's (or a teacher's) join code; a teacher whose file entry holds a
/// password hash gives their `name` and the password as `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Who signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Learner,
    Teacher,
}

/// The answer of a sign-in: a session token (sent as [`super::SESSION_HEADER`], as one from
/// [`super::paths::SESSIONS`]) bound to the member `name`. Every sign-in of the same member gets the same
/// session, so their images and containers follow them across browsers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub token: String,
    pub name: String,
    pub role: Role,
    pub idle_seconds: u64,
    pub max_age_seconds: u64,
}

/// `/api/info`'s `classroom`: present when the server runs a class (`slipway serve --classroom`); the page
/// then asks for a join code instead of getting a session by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassroomInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the class ends (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// The lessons assigned: URLs, or the id of the built-in lesson.
    #[serde(default)]
    pub lessons: Vec<String>,
}

/// A join code as typed, in the form it is stored and compared: Crockford base32 upper case, without spaces
/// or dashes, `O` read as `0` and `I`/`L` as `1` (letters a learner confuses when copying a card).
pub fn normalize_join_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn sign_in_types_round_trip() {
        let json = round_trip(&JoinRequest {
            code: "ABCDE-FGHJK".into(),
            name: None,
        });
        assert!(json.get("name").is_none(), "{json}");
        let json = round_trip(&SignedIn {
            token: "ab".repeat(32),
            name: "learner1".into(),
            role: Role::Learner,
            idle_seconds: 1800,
            max_age_seconds: 43200,
        });
        assert_eq!(json["role"], "learner");
        round_trip(&ClassroomInfo {
            name: Some("Docker 101".into()),
            ends_at: Some("2026-12-07T17:00:00Z".into()),
            lessons: vec!["python-web-app".into()],
        });
        assert!(serde_json::from_str::<JoinRequest>(r#"{"code":"x","role":"teacher"}"#).is_err());
    }

    #[test]
    fn typed_codes_normalize_to_the_stored_form() {
        assert_eq!(normalize_join_code(" abcde-fghjk "), "ABCDEFGHJK");
        assert_eq!(normalize_join_code("o1l-i 0"), "01110");
    }
}
