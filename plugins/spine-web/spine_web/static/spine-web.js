// spine-web's only script (served from this file: the pages allow no inline script).
// 1. A page showing work still going (data-refresh-seconds on <body>) reloads itself.
// 2. Every <time datetime="..."> gets the same moment in the browser's local time as a tooltip.
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-refresh-seconds"));
  if (seconds > 0) {
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
  var times = document.querySelectorAll("time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var moment = new Date(times[i].getAttribute("datetime"));
    if (!isNaN(moment.getTime())) {
      times[i].title = moment.toLocaleString() + " (local)";
    }
  }
})();
