// @name line_counter
// @version 1.0.0
// @priority -10
//
// Counts output lines. State lives in a one-element array exported with the hooks:
// a Fusabi 0.35 function cannot capture a top-level `let`, but every export is
// copied into the VM's globals, where hooks can reach it.

let counter = Array.create 1 0
in
let keep line = Continue
in
let on_output line =
    let n = Array.get 0 counter in
    let stored = Array.set 0 (n + 1) counter in
    Continue
in
let on_output_batch lines =
    let n = Array.get 0 counter in
    let k = List.length lines in
    let stored = Array.set 0 (n + k) counter in
    List.map keep lines
in
let on_unload u =
    let n = Array.get 0 counter in
    let text = String.format "counted %d output lines" [n] in
    Host.log text
in
{ counter = counter; keep = keep; on_output = on_output;
  on_output_batch = on_output_batch; on_unload = on_unload }
