//! `setters!`: the builder setters that only store their argument in a field, written once.

/// Writes setters of the form `fn name(mut self, arg: T) -> Self { self.field = value; self }`.
///
/// Each entry is such a setter without its receiver and final `self`:
/// `$(#[attr])* $vis fn name(arg: T) { self.field = value }`, where `field` may be a path
/// (`limits.max_line_length`) and `value` any expression of `arg` (`Some(arg)`). The return
/// type is `Self` unless the entry names it (`fn name(arg: T) -> Type { … }`). Attributes,
/// the doc comment among them, pass through unchanged, so rustdoc shows the same setter. A
/// setter that checks its argument or sets more than one field stays written out by hand.
macro_rules! setters {
    (@returns) => { Self };
    (@returns $ret:ty) => { $ret };
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($arg:ident: $ty:ty) $(-> $ret:ty)? {
            self.$($field:ident).+ = $value:expr
        }
    )*) => {
        $(
            $(#[$attr])*
            $vis fn $name(mut self, $arg: $ty) -> $crate::setters::setters!(@returns $($ret)?) {
                self.$($field).+ = $value;
                self
            }
        )*
    };
}

pub(crate) use setters;
