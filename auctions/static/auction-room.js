/* Live data for the auction pages. Bidding stays an ordinary form post (the pages work
 * without this script); the script only keeps the figures current.
 *
 * The auction room long-polls GET /api/v1/auctions/<ref>/wait?version=..&timeout=..,
 * which answers as soon as the state's version changes. Lists (auctions, operator
 * monitor) poll GET /api/v1/auctions every few seconds.
 *
 * Countdowns follow the exchange's clock, never the browser's: every answer carries
 * server_time, and the offset server_time - Date.now() is applied to every tick.
 */
(function () {
  "use strict";

  var SHANGHAI_MS = 8 * 3600 * 1000;

  function readConfig(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function money(fen) {
    if (fen === null || fen === undefined) return "";
    var neg = fen < 0;
    var abs = Math.abs(fen);
    var whole = Math.floor(abs / 100);
    var frac = abs % 100;
    return (neg ? "-" : "") + "\u00a5" + String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + pad(frac);
  }

  function yuanText(fen) {
    if (fen === null || fen === undefined) return "";
    var whole = Math.floor(fen / 100);
    var frac = fen % 100;
    return frac ? whole + "." + pad(frac) : String(whole);
  }

  // An instant shown in Beijing time (UTC+8, no daylight saving), whatever the browser's zone.
  function local(iso, seconds) {
    var d = new Date(Date.parse(iso) + SHANGHAI_MS);
    var s = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    return seconds ? s + ":" + pad(d.getUTCSeconds()) : s;
  }

  function duration(ms, labels) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var days = Math.floor(total / 86400);
    var rest = total % 86400;
    var hms = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor(rest % 3600 / 60)) + ":" + pad(rest % 60);
    return days ? labels.days.replace("{days}", days).replace("{time}", hms) : hms;
  }

  function setText(el, text) {
    if (el && el.textContent !== text) {
      el.textContent = text;
      el.classList.remove("changed");
      void el.offsetWidth; // restart the highlight animation
      el.classList.add("changed");
    }
  }

  function byTestId(root, id) { return root.querySelector('[data-testid="' + id + '"]'); }

  // The price to show: hidden for sealed bids before the close; the asking price while descending.
  function priceOf(s) {
    if (s.state !== "closed" && s.format === "sealed") return { hidden: true };
    if (s.state !== "closed" && s.format === "descending") return { fen: s.min_next_bid_fen };
    return { fen: s.state === "closed" && s.hammer_price_fen !== null ? s.hammer_price_fen : s.current_price_fen };
  }

  function priceText(s, labels) {
    var p = priceOf(s);
    if (p.hidden) return labels.hidden;
    return p.fen === null || p.fen === undefined ? labels.no_bid : money(p.fen);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { var err = new Error("HTTP " + r.status); err.status = r.status; throw err; }
        return r.json();
      });
  }

  // -- the auction room -----------------------------------------------------------------------
  function initRoom(root, cfg) {
    var labels = cfg.labels;
    var s = cfg.state;
    var ref = s.ref;
    var renderedPhase = cfg.phase;
    var renderedState = s.state;
    var offset = 0;       // server time minus browser time, in ms
    var endMs = 0;        // the effective end, on the server's clock
    var startMs = Date.parse(s.starts_at);
    var freeEndMs = s.free_period_ends_at ? Date.parse(s.free_period_ends_at) : null;
    var version = s.version;
    var lastCount = s.bid_count;
    var failures = 0;
    var reloading = false;
    var refreshing = false;
    var lastRefresh = 0;
    var amount = byTestId(root, "bid-amount");
    // The server fills in the minimum next bid; after a refusal the field keeps what was typed.
    var lastPrefill = amount && amount.getAttribute("data-prefilled") === "1" ? amount.value : null;
    var el = {
      price: byTestId(root, "current-price"), leader: byTestId(root, "leader"), count: byTestId(root, "bid-count"),
      minNext: byTestId(root, "min-next-bid"), end: byTestId(root, "end-time"), countdown: byTestId(root, "countdown"),
      label: document.getElementById("countdown-label"), phase: byTestId(root, "auction-phase"),
      youLead: byTestId(root, "you-lead"), accept: byTestId(root, "accept-price"),
      sealedCount: byTestId(root, "sealed-count"), recordBody: document.getElementById("record-body"),
      recordEmpty: document.getElementById("record-empty")
    };

    function serverNow() { return Date.now() + offset; }

    function reload() {
      if (!reloading) { reloading = true; window.location.reload(); }
    }

    function phaseAt(now) {
      if (s.state === "closed" || s.state === "cancelled" || now >= endMs) return "ended";
      if (now < startMs) return "not_started";
      if (s.format === "ascending") return freeEndMs !== null && now >= freeEndMs ? "limited" : "free";
      return s.format;
    }

    function apply(next) {
      s = next;
      offset = Date.parse(s.server_time) - Date.now();
      endMs = Date.parse(s.server_time) + s.seconds_left * 1000;
      startMs = Date.parse(s.starts_at);
      version = s.version;
      setText(el.price, priceText(s, labels));
      var hidden = s.format === "sealed" && s.state !== "closed";
      if (el.leader) setText(el.leader, hidden ? labels.hidden : (s.leader_bidder_no || labels.none));
      setText(el.count, String(s.bid_count));
      setText(el.sealedCount, String(s.bid_count));
      setText(el.minNext, s.min_next_bid_fen === null ? labels.none : money(s.min_next_bid_fen));
      if (el.accept && s.min_next_bid_fen !== null) setText(el.accept, money(s.min_next_bid_fen));
      if (el.end) setText(el.end, local(serverNow() < startMs ? s.starts_at : s.effective_end_at, true));
      if (el.youLead) {
        setText(el.youLead, s.you_lead ? labels.you_lead : labels.not_lead);
        el.youLead.classList.toggle("ok", !!s.you_lead);
        el.youLead.classList.toggle("warn", !s.you_lead && s.bid_count > 0);
      }
      // Prefill the minimum next bid unless the bidder is typing their own amount.
      if (amount && s.min_next_bid_fen !== null && document.activeElement !== amount &&
          (amount.value === "" || amount.value === lastPrefill)) {
        amount.value = lastPrefill = yuanText(s.min_next_bid_fen);
      }
      if (s.bid_count !== lastCount) {
        lastCount = s.bid_count;
        loadRecord();
      }
      if (s.state === "closed" && renderedState !== "closed") reload();
      tick();
    }

    function loadRecord() {
      if (!el.recordBody) return;
      getJSON("/api/v1/auctions/" + encodeURIComponent(ref) + "/bids").then(function (rows) {
        var body = document.createElement("tbody");
        body.id = "record-body";
        rows.slice().reverse().forEach(function (r) {
          var tr = document.createElement("tr");
          tr.setAttribute("data-testid", "record-row");
          if (s.your_bidder_no && r.bidder_no === s.your_bidder_no) tr.className = "mine";
          [String(r.seq), r.bidder_no, money(r.amount_fen)].forEach(function (text, i) {
            var td = document.createElement("td");
            td.textContent = text;
            if (i === 2) td.className = "num";
            tr.appendChild(td);
          });
          var when = local(r.placed_at, true).split(" ");
          var td = document.createElement("td");
          var day = document.createElement("span");
          day.className = "d";
          day.textContent = when[0] + " ";
          td.appendChild(day);
          td.appendChild(document.createTextNode(when[1]));
          tr.appendChild(td);
          body.appendChild(tr);
        });
        if (body.firstChild) body.firstChild.classList.add("changed");
        el.recordBody.parentNode.replaceChild(body, el.recordBody);
        el.recordBody = body;
        if (el.recordEmpty) el.recordEmpty.hidden = rows.length > 0;
      }).catch(function () { /* the next change retries */ });
    }

    function refreshNow() {
      if (refreshing || Date.now() - lastRefresh < 2000) return;
      refreshing = true;
      lastRefresh = Date.now();
      getJSON("/api/v1/auctions/" + encodeURIComponent(ref)).then(function (next) {
        refreshing = false;
        apply(next);
        // The page was drawn before the start: draw it again now that bidding is open.
        if (renderedPhase === "not_started" && Date.parse(next.server_time) >= Date.parse(next.starts_at)) reload();
      }).catch(function () { refreshing = false; });
    }

    function tick() {
      var now = serverNow();
      var phase = phaseAt(now);
      if (el.phase && labels.phase[phase]) {
        setText(el.phase, labels.phase[phase]);
        el.phase.className = "badge " + ({ free: "ok", sealed: "ok", limited: "warn", descending: "warn" }[phase] || "");
      }
      if (phase === "not_started") {
        setText(el.label, labels.starts_in);
        el.countdown.textContent = duration(startMs - now, labels);
      } else if (phase === "ended") {
        setText(el.label, labels.ended);
        el.countdown.textContent = duration(0, labels);
      } else {
        setText(el.label, labels.time_left);
        el.countdown.textContent = duration(endMs - now, labels);
      }
      var box = el.countdown.parentNode;
      if (box) box.classList.toggle("urgent", phase === "limited" || (phase !== "ended" && endMs - now < 60000));
      // Crossing the start or the end: ask the server (it closes a due auction) instead of guessing.
      if ((renderedPhase === "not_started" && now >= startMs) || (phase === "ended" && s.state !== "closed")) {
        refreshNow();
      }
    }

    function poll() {
      var url = "/api/v1/auctions/" + encodeURIComponent(ref) + "/wait?version=" + encodeURIComponent(version) +
        "&timeout=" + (cfg.poll_timeout || 25);
      getJSON(url).then(function (next) {
        failures = 0;
        apply(next);
        if (next.state === "closed") return; // nothing more will change
        poll();
      }).catch(function (err) {
        if (err && err.status === 404) return;
        failures += 1;
        window.setTimeout(poll, Math.min(30000, 1000 * Math.pow(2, failures)));
      });
    }

    apply(s);
    window.setInterval(tick, 250);
    if (s.state !== "closed") poll();
  }

  // -- lists: the auctions page and the operator monitor -----------------------------------------
  function initList(container, cfg) {
    var labels = cfg.labels;
    var offset = Date.parse(cfg.server_time) - Date.now();
    var failures = 0;

    function tick() {
      var now = Date.now() + offset;
      container.querySelectorAll("[data-countdown]").forEach(function (c) {
        var start = Date.parse(c.getAttribute("data-start"));
        var end = Date.parse(c.getAttribute("data-end"));
        c.textContent = duration(now < start ? start - now : end - now, labels);
      });
    }

    function refresh() {
      getJSON("/api/v1/auctions").then(function (states) {
        failures = 0;
        var reload = false;
        states.forEach(function (s) {
          offset = Date.parse(s.server_time) - Date.now();
          var row = container.querySelector('[data-auction-row="' + s.ref + '"]');
          if (!row) return;
          if (s.state === "closed" && row.getAttribute("data-state") !== "closed" && cfg.reload_on_close) reload = true;
          setText(row.querySelector('[data-field="price"]'), priceText(s, labels));
          var leader = row.querySelector('[data-field="leader"]');
          if (leader) setText(leader, s.format === "sealed" && s.state !== "closed" ? labels.hidden : (s.leader_bidder_no || labels.none));
          setText(row.querySelector('[data-field="bids"]'), String(s.bid_count));
          setText(row.querySelector('[data-field="end"]'), local(s.effective_end_at, true));
          var c = row.querySelector("[data-countdown]");
          if (c) c.setAttribute("data-end", s.effective_end_at);
        });
        if (reload) window.location.reload();
        window.setTimeout(refresh, 5000);
      }).catch(function () {
        failures += 1;
        window.setTimeout(refresh, Math.min(60000, 5000 * Math.pow(2, failures)));
      });
    }

    tick();
    window.setInterval(tick, 1000);
    window.setTimeout(refresh, 5000);
  }

  var roomCfg = readConfig("auction-room-data");
  var room = document.getElementById("auction-room");
  if (room && roomCfg) initRoom(room, roomCfg);
  var listCfg = readConfig("auctions-list-data");
  var list = document.querySelector("[data-live-list]");
  if (list && listCfg) initList(list, listCfg);
})();
