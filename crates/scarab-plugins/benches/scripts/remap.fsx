// @name remap
// The processing input plugin: expands two short commands, passes the rest.
let on_input text =
    if text = "ll\r" then Modify "ls -l\r"
    else if text = "gs\r" then Modify "git status\r"
    else Continue
in
{ on_input = on_input }
