// @name input_remap
// @version 1.0.0
// @priority 10
//
// Expands short commands typed at the prompt: `ll` + Enter becomes `ls -l` + Enter,
// `gs` + Enter becomes `git status` + Enter. Other input passes on unchanged.

let on_input text =
    if text = "ll\r" then Modify "ls -l\r"
    else if text = "gs\r" then Modify "git status\r"
    else Continue
in
{ on_input = on_input }
