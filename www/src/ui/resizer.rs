//! The borders between panes that a learner drags, or moves with the arrow keys when focused: the lesson and
//! files column's right border (←/→) and the border between the editor row and the terminal (↑/↓).

use yew::prelude::*;

/// Which way the border runs: a vertical border resizes the column beside it, a horizontal one the row above.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    Vertical,
    Horizontal,
}

impl Orientation {
    fn name(self) -> &'static str {
        match self {
            Orientation::Vertical => "vertical",
            Orientation::Horizontal => "horizontal",
        }
    }

    /// The pointer's coordinate along which this border moves.
    fn along(self, e: &PointerEvent) -> i32 {
        match self {
            Orientation::Vertical => e.client_x(),
            Orientation::Horizontal => e.client_y(),
        }
    }

    /// The keys that move the border back and forth (ARIA's window splitter pattern).
    fn step(self, key: &str) -> Option<i32> {
        match (self, key) {
            (Orientation::Vertical, "ArrowLeft") | (Orientation::Horizontal, "ArrowUp") => Some(-KEY_STEP_PX),
            (Orientation::Vertical, "ArrowRight") | (Orientation::Horizontal, "ArrowDown") => {
                Some(KEY_STEP_PX)
            }
            _ => None,
        }
    }
}

/// How far one arrow key press moves a border.
const KEY_STEP_PX: i32 = 16;

#[derive(Properties, PartialEq)]
pub struct ResizerProps {
    pub label: AttrValue,
    pub orientation: Orientation,
    /// Pixels the border moved (right or down is positive): the pane before it grows by that much.
    pub on_resize: Callback<i32>,
    /// The size of the pane before the border, in pixels (screen readers announce it).
    pub value: u16,
}

/// A pane border to drag, or to move with the arrow keys when focused.
#[function_component(Resizer)]
pub fn resizer(props: &ResizerProps) -> Html {
    let last = use_mut_ref(|| None::<i32>);
    let orientation = props.orientation;
    let onpointerdown = {
        let last = last.clone();
        Callback::from(move |e: PointerEvent| {
            let target: web_sys::Element = e.target_unchecked_into();
            let _ = target.set_pointer_capture(e.pointer_id());
            *last.borrow_mut() = Some(orientation.along(&e));
        })
    };
    let onpointermove = {
        let (last, on_resize) = (last.clone(), props.on_resize.clone());
        Callback::from(move |e: PointerEvent| {
            let mut last = last.borrow_mut();
            if let Some(at) = *last {
                on_resize.emit(orientation.along(&e) - at);
                *last = Some(orientation.along(&e));
            }
        })
    };
    // The drag ends with the button, or when the browser takes the pointer away (a touch turned into a scroll).
    let onpointerup = {
        let last = last.clone();
        Callback::from(move |_: PointerEvent| *last.borrow_mut() = None)
    };
    let onlostpointercapture = onpointerup.clone();
    let onkeydown = {
        let on_resize = props.on_resize.clone();
        Callback::from(move |e: KeyboardEvent| {
            if let Some(step) = orientation.step(&e.key()) {
                e.prevent_default();
                on_resize.emit(step);
            }
        })
    };
    html! {
        <div class={classes!("resizer", orientation.name())} role="separator" tabindex="0"
             aria-orientation={orientation.name()} aria-label={props.label.clone()}
             aria-valuenow={props.value.to_string()}
             {onpointerdown} {onpointermove} {onpointerup} {onlostpointercapture} {onkeydown} />
    }
}
