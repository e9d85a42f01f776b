//! Panic payloads as text, for the places that catch panics at a boundary
//! (host functions, worker jobs, the C ABI) and report them.

use std::any::Any;

/// The message of a caught panic: the text of `panic!("...")` (a `&str` or
/// `String` payload), or a placeholder for any other payload type.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::panic_message;
    use std::panic::catch_unwind;

    #[test]
    fn messages_of_each_payload_kind() {
        let text = |f: fn()| panic_message(&*catch_unwind(f).unwrap_err());
        assert_eq!(text(|| panic!("static text")), "static text");
        assert_eq!(text(|| panic!("formatted {}", 42)), "formatted 42");
        assert_eq!(text(|| std::panic::panic_any(7_u32)), "<non-string panic payload>");
    }
}
