// @name url_detect
// @version 1.0.0
// @priority 40
//
// Marks lines that contain a URL, and logs each one through the host.

let on_output line =
    let has_https = String.contains "https://" line in
    let has_http = String.contains "http://" line in
    if has_https || has_http then
        let logged = Host.log ("url in: " ++ line) in
        Modify ("<url> " ++ line)
    else
        Continue
in
{ on_output = on_output }
