// @name resize_log
// The processing resize plugin: formats the new size and logs it.
let on_resize size =
    let cols = size.cols in
    let rows = size.rows in
    let text = String.format "resized to %dx%d" [cols; rows] in
    Host.log text
in
{ on_resize = on_resize }
