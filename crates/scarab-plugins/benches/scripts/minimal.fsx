// @name minimal
// The smallest useful plugin: one hook that passes every line on.
let on_output line = Continue
in
{ on_output = on_output }
