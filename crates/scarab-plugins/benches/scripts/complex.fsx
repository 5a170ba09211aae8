// @name complex
// @version 2.1.0
// @priority 20
// A larger plugin with state: counts lines, errors and resizes in an array
// exported with the hooks, tags lines, remaps input, and handles batches.
let stats = Array.create 4 0
in
let bump i =
    let n = Array.get stats i in
    Array.set stats i (n + 1)
in
let classify line =
    let lower = String.toLower line in
    if String.contains "error" lower then 2
    else if String.contains "warning" lower then 1
    else if String.contains "http" lower then 3
    else 0
in
let tag line =
    let c = classify line in
    let counted = bump 0 in
    if c = 2 then
        let e = bump 1 in
        Modify ("[ERROR] " ++ line)
    else if c = 1 then Modify ("[WARN] " ++ line)
    else if c = 3 then Modify ("<url> " ++ line)
    else Continue
in
let on_output_batch lines = List.map tag lines
in
let on_input text =
    if text = "ll\r" then Modify "ls -l\r"
    else if text = "gs\r" then Modify "git status\r"
    else if String.startsWith ":" text then Stop
    else Continue
in
let on_resize size =
    let r = bump 2 in
    let cols = size.cols in
    let rows = size.rows in
    let text = String.format "resized to %dx%d" [cols; rows] in
    Host.log text
in
let on_unload u =
    let lines = Array.get stats 0 in
    let errors = Array.get stats 1 in
    let text = String.format "%d lines, %d errors" [lines; errors] in
    Host.log text
in
{ stats = stats; bump = bump; classify = classify; tag = tag;
  on_output = tag; on_output_batch = on_output_batch; on_input = on_input;
  on_resize = on_resize; on_unload = on_unload }
