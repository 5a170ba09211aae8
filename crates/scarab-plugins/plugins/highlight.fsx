// @name highlight
// @version 1.0.0
// @priority 50
//
// Tags lines that mention an error or a warning.

let tag_line line =
    let lower = String.toLower line in
    if String.contains "error" lower then
        Modify ("[ERROR] " ++ line)
    else if String.contains "warning" lower then
        Modify ("[WARN] " ++ line)
    else
        Continue
in
{ on_output = tag_line }
