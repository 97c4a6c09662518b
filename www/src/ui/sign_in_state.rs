//! The classroom sign-in form's state (plain reducer, tested natively): one field, the join code; the page shows
//! it instead of the workspace when `/api/info` says the server runs a class and the tab holds no session.

use slipway::api::{normalize_join_code, Role};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInState {
    /// The code as typed.
    pub code: String,
    /// A sign-in is in flight (the button waits).
    pub busy: bool,
    /// Why the last attempt failed, shown under the field and announced.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInAction {
    Edit(String),
    Submit,
    Refused(String),
}

impl SignInState {
    pub fn reduce(self, action: SignInAction) -> SignInState {
        match action {
            SignInAction::Edit(code) => SignInState { code, ..self },
            SignInAction::Submit if self.busy => self,
            SignInAction::Submit if normalize_join_code(&self.code).is_empty() => SignInState {
                error: Some("Type the code on your card.".into()),
                ..self
            },
            SignInAction::Submit => SignInState {
                busy: true,
                error: None,
                ..self
            },
            SignInAction::Refused(why) => SignInState {
                busy: false,
                error: Some(why),
                ..self
            },
        }
    }

    /// A sign-in should go out now (after [`SignInAction::Submit`]).
    pub fn sending(&self) -> bool {
        self.busy
    }
}

/// Whether the page asks for a join code before the workspace: on a class's server (`classroom`) unless the
/// tab holds a session (`held`) the companion still knows (`known`).
pub fn needs_sign_in(classroom: bool, held: bool, known: bool) -> bool {
    classroom && !(held && known)
}

/// The terminal's first line for a signed-in class member.
pub fn greeting(name: &str, role: Role) -> String {
    match role {
        Role::Learner => format!(
            "Welcome, {name}! You are signed in to the class: your images and containers are kept for you."
        ),
        Role::Teacher => format!("Welcome, {name}! You are signed in as the class's teacher."),
    }
}

/// What a refused sign-in says to the learner: the server's reason, or what to do when it could not be asked.
pub fn refusal(status: Option<u16>, message: &str) -> String {
    match status {
        Some(401) => "That code is not right: check your card and type it again.".into(),
        Some(429) => "Too many tries from this network: wait a minute and try again.".into(),
        Some(_) => message.to_string(),
        None => format!("The server cannot be reached: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_goes_out_once_and_a_refusal_lets_the_learner_try_again() {
        let state = SignInState::default().reduce(SignInAction::Submit);
        assert_eq!(state.error.as_deref(), Some("Type the code on your card."));
        assert!(!state.sending());
        let state = state.reduce(SignInAction::Edit("abcde-fghjk".into()));
        let state = state.reduce(SignInAction::Submit);
        assert!(state.sending() && state.error.is_none());
        assert_eq!(
            state.clone().reduce(SignInAction::Submit),
            state,
            "no second request while one is out"
        );
        let state = state.reduce(SignInAction::Refused(refusal(Some(401), "")));
        assert!(!state.sending());
        assert!(state.error.as_deref().unwrap().contains("not right"));
        assert_eq!(state.code, "abcde-fghjk", "the code stays to be corrected");
    }

    #[test]
    fn only_a_class_member_whose_session_the_server_knows_skips_the_sign_in() {
        assert!(!needs_sign_in(false, false, false), "no class: no sign-in");
        assert!(needs_sign_in(true, false, false), "a class and no session");
        assert!(needs_sign_in(true, true, false), "a session the server forgot");
        assert!(!needs_sign_in(true, true, true));
    }

    #[test]
    fn members_are_greeted_by_name() {
        assert!(greeting("learner1", Role::Learner).starts_with("Welcome, learner1!"));
        assert!(greeting("ada", Role::Teacher).contains("teacher"));
        assert!(refusal(None, "offline").contains("offline"));
        assert!(refusal(Some(429), "").contains("wait a minute"));
    }
}
