// @name resize_logger
// @version 1.0.0
// @priority 0
//
// Logs every resize, and checks it against the size the host reports.

let on_resize size =
    let cols = size.cols in
    let rows = size.rows in
    let host_cols = Host.cols () in
    let text = String.format "resized to %dx%d (host says %d columns)" [cols; rows; host_cols] in
    Host.log text
in
{ on_resize = on_resize }
