// @name hooks
// Exports every hook the host knows, each doing nothing. Used as the no-op
// plugin of the output, input and resize dispatch benchmarks.
let on_load u = ()
in
let on_output line = Continue
in
let on_input text = Continue
in
let on_resize size = ()
in
let on_unload u = ()
in
{ on_load = on_load; on_output = on_output; on_input = on_input;
  on_resize = on_resize; on_unload = on_unload }
