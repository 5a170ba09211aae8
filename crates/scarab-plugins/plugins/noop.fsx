// @name noop
// @version 1.0.0
// @priority 0
//
// Does nothing: every line passes on unchanged. Useful to measure what one
// VM call costs.

let on_output line = Continue
in
{ on_output = on_output }
