// @name functions
// A plugin with helper functions: they are exported so that the hook can reach
// them as globals (Fusabi 0.35 functions capture nothing).
let is_blank line =
    let t = String.trim line in
    String.length t = 0
in
let is_comment line = String.startsWith "#" line
in
let is_prompt line = String.endsWith "$ " line
in
let on_output line =
    let blank = is_blank line in
    let comment = is_comment line in
    let prompt = is_prompt line in
    if blank then Stop
    else if comment || prompt then Continue
    else Continue
in
{ is_blank = is_blank; is_comment = is_comment; is_prompt = is_prompt;
  on_output = on_output }
