// @name tagger
// The processing plugin of the dispatch, chaining and peers benchmarks: tags
// lines that mention an error or a warning and passes the rest. The peers
// (native Rust, Lua, Rhai) implement exactly this.
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
