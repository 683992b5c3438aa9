/* hazchain handheld page (/m): scan, act, and keep working offline.
 *
 * Every action goes into a queue in localStorage with its own event id before anything is sent;
 * the queue is then sent to POST /mobile/v1/sync whenever the network is there (at once, when the
 * browser says it is back online, and every few seconds). The server answers per item, and an
 * item leaves the queue only with a final answer, so nothing is lost or done twice: a resent
 * item is a duplicate of itself. Each queued item records the operator who did it, and only
 * that operator's sign-in sends it: a handheld passed from hand to hand never sends one
 * operator's work under another's name. Plain JavaScript, no dependencies, no CDN.
 */
(function () {
  "use strict";

  const API = "/mobile/v1";
  const KEY = { device: "hz.device", session: "hz.session", queue: "hz.queue", lots: "hz.lots" };
  const ACTION_ZH = {
    generate: "产生登记", label: "贴标", weigh: "称重", store: "入库", move: "移库",
    inspect: "检查", repack: "重新包装", inspect_zone: "区域巡检", load: "装车", receive: "接收",
    discard: "随生活垃圾清运",
  };
  const STATUS_ZH = {
    generated: "已产生", labelled: "已贴标", stored: "已入库", allocated: "已配联单",
    shipped: "已转移", received: "已接收", rejected: "已拒收", disposed: "已处置", utilised: "已利用",
    discarded: "已随生活垃圾清运",
  };
  const CONDITION_ZH = { intact: "完好", damaged: "破损", leaking: "渗漏", deformed: "变形" };
  const OUTCOME_ZH = { accepted: "全部接收", partly_accepted: "部分接收", rejected: "拒收" };
  const MISMATCH_ZH = { weight: "重量", name: "名称", characteristics: "危险特性", form: "形态", packaging: "包装" };
  const FORM_ZH = { solid: "固态", semi_solid: "半固态", liquid: "液态", gas: "气态" };
  const CONTAINER_ZH = { drum: "桶", ibc: "吨桶", bag: "袋", ton_bag: "吨袋", box: "箱", tank: "罐" };

  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const load = (k, d) => { try { return JSON.parse(localStorage.getItem(k)) ?? d; } catch { return d; } };
  const save = (k, v) => localStorage.setItem(k, JSON.stringify(v));

  // Random UUIDs also on plain-http factory LANs, where crypto.randomUUID is missing.
  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const state = {
    session: load(KEY.session, null), // {access_token, user, site, zones, max_batch, ...}
    lot: null, // the lot in hand (LotBrief), possibly advanced locally by queued actions
    zone: null, // the zone scanned (ZoneBrief)
    actions: null, // server's next actions for the lot, or null when offline
    syncing: false,
    syncError: null, // {text, eventId}: a batch the server refused as it stands (see refused())
    batchSize: Infinity, // halved when the server finds a batch too large (413)
  };

  // ------------------------------------------------------------------ network

  class Offline extends Error {}

  async function call(method, path, body, token) {
    let r;
    try {
      r = await fetch(API + path, {
        method,
        headers: {
          Authorization: `Bearer ${token || state.session?.access_token || ""}`,
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        cache: "no-store",
      });
    } catch (e) {
      throw new Offline(String(e));
    }
    let data = null;
    try { data = await r.json(); } catch { data = null; }
    if (r.status === 401 && state.session && !token) {
      message("bad", "登录已失效或设备已停用，请重新登录（你的待同步操作会保留，重新登录后自动同步）");
      signOut(false);
    }
    if (r.status >= 500) throw new Offline(`HTTP ${r.status}`);
    return { status: r.status, data };
  }

  function setOnline(on) {
    const n = $("net");
    n.dataset.online = on ? "1" : "0";
    n.textContent = on ? "在线" : "离线";
  }

  // ------------------------------------------------------------------ queue and sync

  const queue = () => load(KEY.queue, []);
  function setQueue(q) { save(KEY.queue, q); renderQueue(); }

  // Whose a queued item is: the operator signed in when it was done. Items queued before the
  // page recorded operators have none; the next operator to sign in sends them, as before.
  const me = () => state.session?.user?.user_id || null;
  const ownerOf = (x) => x.queued_by?.user_id || null;
  const isMine = (x) => !!state.session && (!ownerOf(x) || ownerOf(x) === me());
  const ownerName = (x) => x.queued_by?.username || "";
  // What goes to the server: the action as the API knows it, without the page's own notes.
  const wire = (x) => { const { queued_by: _, ...item } = x; return item; };

  // The signed-in operator's items, in order. One on a lot where another operator's queued
  // item comes first waits for it: its expected version counts on that item.
  function sendable(q) {
    const held = new Set();
    return q.filter((x) => {
      if (!isMine(x) || (x.lot_id && held.has(x.lot_id))) {
        if (x.lot_id) held.add(x.lot_id);
        return false;
      }
      return true;
    });
  }

  function renderQueue() {
    const q = queue();
    const mine = state.session ? q.filter(isMine) : q;
    $("queue-count").textContent = String(mine.length);
    $("queue").classList.toggle("pending", mine.length > 0);
    // Other operators' items stay on the device until they sign in: say so.
    const others = new Map();
    for (const x of q) {
      if (state.session && isMine(x)) continue;
      const name = ownerName(x);
      others.set(name, (others.get(name) || 0) + 1);
    }
    const note = $("queue-note");
    note.hidden = !others.size;
    note.textContent = [...others].map(([name, n]) => (name
      ? `${n} 条操作等待 ${name} 登录后同步` : `${n} 条早先的操作等待下一位登录的操作员同步`)).join("；");
    renderQueuePanel();
  }

  function renderQueuePanel() {
    const p = $("queue-panel");
    if (p.hidden) return;
    const q = queue();
    const ready = new Set(sendable(q).map((x) => x.event_id));
    const err = state.syncError;
    const rows = q.map((x) => {
      const when = new Date(x.occurred_at).toLocaleString("zh-CN", { hour12: false });
      const who = ownerName(x) || "（未记录操作员）";
      const wait = !isMine(x) ? `等待 ${who} 登录后同步` : ready.has(x.event_id) ? "" : "等其他操作员的操作先同步";
      const bad = err && err.eventId === x.event_id;
      return `<li class="${bad ? "bad" : ""}"><div class="what">${esc(ACTION_ZH[x.action] || x.action)}${esc(describe(x))}
        <small>${esc(when)} · ${esc(who)}${wait ? ` · ${esc(wait)}` : ""}</small>
        ${bad ? `<div class="why">服务器拒收此条：${esc(err.text)}</div>` : ""}</div>
        ${isMine(x) ? `<button class="small" type="button" data-discard="${esc(x.event_id)}">删除</button>` : ""}</li>`;
    });
    p.innerHTML = `<h3>待同步的操作（${q.length} 条）</h3>
      ${err && !err.eventId ? `<div class="why">${esc(err.text)}</div>` : ""}
      ${q.length ? `<ol class="qlist">${rows.join("")}</ol>` : "<p>没有待同步的操作</p>"}
      ${ready.size ? `<button class="big primary" type="button" data-sync>立即同步</button>` : ""}
      <button class="small" type="button" data-close>关闭</button>`;
  }

  function toggleQueuePanel(open) {
    const p = $("queue-panel");
    p.hidden = open === undefined ? !p.hidden : !open;
    renderQueuePanel();
  }

  // The operator deletes a queued item of their own (one the server keeps refusing, say).
  function discard(eventId) {
    const x = queue().find((i) => i.event_id === eventId);
    if (!x || !isMine(x)) return;
    const what = `${ACTION_ZH[x.action] || x.action}${describe(x)}`;
    if (!window.confirm(`删除这条待同步的操作？\n${what}\n删除后它不会上传，也不会被记录。`)) return;
    setQueue(queue().filter((i) => i.event_id !== eventId));
    state.syncError = null;
    message("info", `已删除待同步的操作：${esc(what)}`);
    // the lot in hand was advanced by the deleted step: ask the server again
    flush(true).then(refresh).catch(() => {});
  }

  function enqueue(item) {
    item.event_id = uuid4();
    item.occurred_at = new Date().toISOString();
    const user = state.session?.user;
    if (user) item.queued_by = { user_id: user.user_id, username: user.username };
    setQueue([...queue(), item]);
    return item;
  }

  // Send the signed-in operator's queued items. After the server refused a batch as it stands,
  // only the operator's own tap (or deleting an item) sends again: `force`.
  async function flush(force) {
    if (state.syncing || !state.session || (state.syncError && force !== true)) return;
    state.syncError = null;
    let q = sendable(queue());
    if (!q.length) { renderQueue(); return; }
    state.syncing = true;
    try {
      while (q.length) {
        const batch = q.slice(0, Math.min(state.batchSize, state.session.max_batch || 200));
        const r = await call("POST", "/sync", { items: batch.map(wire) });
        if (r.status === 413 && batch.length > 1) {
          state.batchSize = Math.max(1, Math.floor(batch.length / 2));
          continue;
        }
        if (r.status !== 200) { refused(r, batch); return; }
        setOnline(true);
        const done = new Set();
        (r.data.results || []).forEach((res, i) => { done.add(batch[i].event_id); report(batch[i], res); });
        if (!done.size) return;
        setQueue(queue().filter((x) => !done.has(x.event_id)));
        q = sendable(queue());
      }
      await refresh();
    } catch (e) {
      if (e instanceof Offline) setOnline(false); else throw e;
    } finally {
      state.syncing = false;
      renderQueue();
    }
  }

  // The whole batch came back refused. 401: signed out already, the items stay for their
  // operator. 409, 429: try again later (413 halves the batch in flush()). Anything else would
  // be refused again as it stands: stop sending, say why, and open the queue list, where the
  // operator sees the item the server named (if it did) and may delete it.
  function refused(r, batch) {
    if (r.status === 401) return;
    const detail = r.data?.detail || `HTTP ${r.status}`;
    if (r.status === 409 || r.status === 429) {
      message("bad", `同步暂未完成，稍后自动重试（${esc(detail)}）`);
      return;
    }
    const loc = (r.data?.fields || []).map((f) => f.loc || []).find((l) => l[0] === "body" && l[1] === "items");
    const suspect = loc && Number.isInteger(loc[2]) && batch[loc[2]] ? batch[loc[2]] : batch.length === 1 ? batch[0] : null;
    const why = { 403: "无权执行", 404: "找不到", 413: "内容太大", 422: "内容有误" }[r.status] || "被拒收";
    const text = `${why}（${r.status}：${detail}）`;
    state.syncError = { text, eventId: suspect ? suspect.event_id : null };
    const named = suspect ? `有问题的是「${ACTION_ZH[suspect.action] || suspect.action}${describe(suspect)}」，` : "";
    message("bad", `✗ 同步被服务器拒绝：${esc(text)}。${esc(named)}请查看待同步列表，可删除有问题的操作后再同步`);
    toggleQueuePanel(true);
  }

  function report(item, res) {
    const name = ACTION_ZH[item.action] || item.action;
    const what = esc(describe(item));
    if (res.status === "accepted" || res.status === "duplicate") {
      if (res.lot) remember(res.lot);
      if (res.lot && state.lot && res.lot.lot_id === state.lot.lot_id && !pendingFor(res.lot.lot_id)) {
        state.lot = res.lot; render();
      }
      const late = res.late ? "（补录：发生较早，已标记迟报）" : "";
      const dup = res.status === "duplicate" ? "（此前已记录，未重复记录）" : "";
      message("ok", `✓ 已记录：${name}${what}${late}${dup}`, res.label_url && item.action === "generate"
        ? `<button class="small" data-label="${esc(res.label_url)}">打印标签</button>` : "");
      return;
    }
    let text = res.detail_zh || res.detail || "未执行";
    if (res.status === "conflict" && res.current) {
      remember(res.current);
      if (state.lot && state.lot.lot_id === res.current.lot_id) { state.lot = res.current; render(); }
      text += `（现为「${STATUS_ZH[res.current.status] || res.current.status}」）`;
    }
    const list = (res.findings || []).filter((f) => f.severity === "block").map((f) => `<li>${esc(f.text_zh)}</li>`);
    message("bad", `✗ ${name}未执行${what}：${text}`, list.length ? `<ul>${list.join("")}</ul>` : "");
  }

  function describe(item) {
    if (item.action === "weigh") return item.weight_kg ? ` ${item.weight_kg} kg` : "";
    if (item.action === "store" || item.action === "move") return ` → ${item.zone_code || ""}`;
    if (item.action === "inspect") return `（${CONDITION_ZH[item.condition]}）`;
    if (item.action === "generate") return `「${item.name}」`;
    return "";
  }

  const pendingFor = (lotId) => queue().some((x) => x.lot_id === lotId);

  // ------------------------------------------------------------------ known lots (offline scans)

  function remember(lot) {
    const lots = load(KEY.lots, {});
    lots[lot.lot_id] = lot;
    const keys = Object.keys(lots);
    if (keys.length > 300) delete lots[keys[0]];
    save(KEY.lots, lots);
  }
  const knownLotByCode = (code) => Object.values(load(KEY.lots, {})).find((l) => l.digital_id === code);

  // ------------------------------------------------------------------ scanning

  function clean(raw) {
    return raw.normalize("NFKC").replace(/\s+/g, "").replace(/^\][A-Za-z]\d/, "").toUpperCase();
  }

  async function onScan(raw) {
    const code = clean(raw);
    if (!code) return;
    const params = new URLSearchParams();
    if (state.zone && !isZoneCode(code)) params.set("zone_id", state.zone.zone_id);
    if (state.lot && isZoneCode(code)) params.set("lot_id", state.lot.lot_id);
    try {
      const r = await call("GET", `/scan/${encodeURIComponent(code)}?${params}`);
      setOnline(true);
      if (r.status !== 200) {
        message("bad", `✗ 无法识别「${esc(code)}」：${esc(r.data?.detail || r.status)}`);
        return;
      }
      const s = r.data;
      if (s.kind === "lot") {
        if (pendingFor(s.lot.lot_id) && state.lot?.lot_id === s.lot.lot_id) {
          message("info", "此废物还有待同步的操作，显示的是本机状态");
        } else {
          state.lot = s.lot;
        }
        remember(s.lot);
        state.actions = s.actions;
        if (!state.zone || state.zone.zone_id === s.lot.zone_id) state.zone = null;
      } else if (s.kind === "zone") {
        state.zone = s.zone;
        if (state.lot && state.actions && !pendingFor(state.lot.lot_id)) {
          const byName = Object.fromEntries(s.actions.map((a) => [a.action, a]));
          state.actions = state.actions.map((a) => byName[a.action] || a);
        } else if (state.lot) {
          state.actions = null;
        }
      } else {
        message("info", `联单 ${esc(code)}`);
      }
      render();
    } catch (e) {
      if (!(e instanceof Offline)) throw e;
      setOnline(false);
      scanOffline(code);
    }
  }

  // After a sync, ask the server again what may be done with the lot (and zone) in hand.
  async function refresh() {
    const lot = state.lot;
    if (!lot || !lot.digital_id || pendingFor(lot.lot_id)) return;
    const zoneQ = state.zone ? `?zone_id=${state.zone.zone_id}` : "";
    const r = await call("GET", `/scan/${encodeURIComponent(lot.digital_id)}${zoneQ}`);
    if (r.status !== 200 || state.lot?.lot_id !== lot.lot_id) return;
    state.lot = r.data.lot;
    state.actions = r.data.actions;
    if (state.zone) {
      const z = await call("GET", `/scan/${encodeURIComponent(state.zone.code)}?lot_id=${lot.lot_id}`);
      if (z.status === 200 && z.data.kind === "zone") state.zone = z.data.zone;
    }
    render();
  }

  function isZoneCode(code) {
    return (state.session?.zones || []).some((z) => z.code === code);
  }

  function scanOffline(code) {
    const zone = (state.session?.zones || []).find((z) => z.code === code);
    if (zone) {
      state.zone = zone;
      state.actions = null;
      message("info", `离线：已选区域 ${esc(zone.code)}（未经规则预检，联网后由服务器检查）`);
      render();
      return;
    }
    const lot = knownLotByCode(code);
    if (lot) {
      if (!state.lot || state.lot.lot_id !== lot.lot_id) state.lot = lot;
      state.actions = null;
      message("info", "离线：显示本机记录的状态");
      render();
      return;
    }
    message("bad", `离线：无法查询「${esc(code)}」，请联网后再扫`);
  }

  // ------------------------------------------------------------------ actions

  // Offline, the page decides from the lot's status alone; the server checks the rules on sync.
  function localActions(lot, zone) {
    const onSite = ["generated", "labelled", "stored", "allocated"].includes(lot.status);
    const repackable = ["generated", "labelled", "stored", "rejected"].includes(lot.status);
    const a = (action, allowed, why, needs) => ({ action, allowed, reason_zh: allowed ? null : why, needs: needs || [] });
    const out = [];
    if (lot.status === "generated") out.push(a("label", true));
    const storing = lot.status === "stored" ? "move" : "store";
    const canStore = storing === "store" ? lot.status === "labelled" : true;
    const sameZone = zone && lot.zone_id && zone.zone_id === lot.zone_id;
    out.push(a(storing, canStore && !lot.needs_repack && !sameZone,
      lot.needs_repack ? "容器需先重新包装" : sameZone ? "废物已在该区域"
        : `废物当前为「${STATUS_ZH[lot.status]}」`, zone ? [] : ["zone"]));
    out.push(a("weigh", onSite, `废物当前为「${STATUS_ZH[lot.status]}」`));
    out.push(a("inspect", onSite || lot.status === "rejected", `废物当前为「${STATUS_ZH[lot.status]}」`));
    out.push(a("repack", repackable, `废物当前为「${STATUS_ZH[lot.status]}」`));
    if (lot.status === "allocated" && !lot.loaded) out.push(a("load", true));
    if (lot.status === "shipped" && !lot.checked_in) out.push(a("receive", true, null, ["input"]));
    // exempt rags (豁免管理清单 #24): out with the household waste
    if (lot.exempt && ["generated", "labelled"].includes(lot.status)) out.push(a("discard", true));
    return out;
  }

  function currentActions() {
    if (!state.lot) return [];
    const list = state.actions || localActions(state.lot, state.zone);
    // Store/move target: the zone scanned. Without one, the button asks for a zone scan.
    return list.filter((a) => !(a.action === "load" || a.action === "receive") || a.allowed || state.actions);
  }

  function queueLotAction(action, body) {
    const lot = state.lot;
    const item = enqueue({ action, lot_id: lot.lot_id, expected_version: lot.version, ...body });
    // Advance the lot locally so the next queued action carries the right version.
    const next = { ...lot, version: lot.version + 1 };
    if (action === "label") next.status = "labelled";
    if (action === "weigh") next.weight_kg = body.weight_kg;
    const zoneId = state.zone ? state.zone.zone_id : null;
    // stored in a zone, exempt rags are segregated: hazardous waste again (R61)
    if (action === "store") Object.assign(next, { status: "stored", zone_id: zoneId, zone_code: body.zone_code, exempt: false });
    if (action === "move") Object.assign(next, { zone_id: zoneId, zone_code: body.zone_code });
    if (action === "inspect") Object.assign(next, { condition: body.condition, needs_repack: body.condition !== "intact" });
    if (action === "repack") Object.assign(next, { condition: "intact", needs_repack: false });
    if (action === "load") next.loaded = true;
    if (action === "receive") next.checked_in = true;
    if (action === "discard") next.status = "discarded";
    state.lot = next;
    state.actions = null;
    remember(next);
    message("info", `已加入待同步：${ACTION_ZH[action]}${esc(describe(item))}`);
    closeInput();
    render();
    flush();
  }

  function onAction(action) {
    const lot = state.lot;
    if (!lot) return;
    if (action === "store" || action === "move") {
      if (!state.zone) { message("info", "请扫描目标区域码"); focusScan(); return; }
      const body = { zone_code: state.zone.code };
      if (action === "store" && lot.digital_id) body.scanned_code = lot.digital_id;
      return queueLotAction(action, body);
    }
    if (action === "label") return queueLotAction("label", {});
    if (action === "discard") return queueLotAction("discard", {});
    if (action === "weigh") {
      return openInput(`<h3>称重（kg）</h3>
        <input id="f-weight" type="number" inputmode="decimal" step="0.001" min="0" required value="">
        <button class="big primary" type="submit">确定</button>`, () => {
        queueLotAction("weigh", { weight_kg: $("f-weight").value });
      }, "f-weight");
    }
    if (action === "inspect") {
      const b = Object.entries(CONDITION_ZH).map(([k, v]) =>
        `<button class="big${k === "intact" ? " primary" : ""}" type="button" data-cond="${k}">${v}</button>`).join("");
      return openInput(`<h3>检查：容器状况</h3><div class="choices">${b}</div>`, null);
    }
    if (action === "repack") {
      return openInput(`<h3>重新包装</h3>
        <div class="row"><label>新容器 <select id="f-ctype">${options(CONTAINER_ZH, "drum")}</select></label>
        <label>容积 L <input id="f-vol" type="number" inputmode="decimal" min="0" required value="200"></label></div>
        <label>原因 <input id="f-reason" required maxlength="300" value="容器破损，更换"></label>
        <button class="big primary" type="submit">确定</button>`, () => {
        queueLotAction("repack", {
          container: { type: $("f-ctype").value, volume_l: $("f-vol").value }, reason: $("f-reason").value,
        });
      }, "f-vol");
    }
    if (action === "load") return queueLotAction("load", lot.manifest_id ? { manifest_id: lot.manifest_id } : {});
    if (action === "receive") {
      const checks = Object.entries(MISMATCH_ZH).map(([k, v]) =>
        `<label class="chk"><input type="checkbox" name="mm" value="${k}"> ${v}</label>`).join("");
      return openInput(`<h3>接收称重（kg）</h3>
        <input id="f-recv" type="number" inputmode="decimal" step="0.001" min="0" required value="">
        <label>结果 <select id="f-outcome">${options(OUTCOME_ZH, "accepted")}</select></label>
        <label>接收量 kg（部分接收时）<input id="f-acc" type="number" inputmode="decimal" step="0.001" min="0"></label>
        <div class="choices">不符项：${checks}</div>
        <p class="msg" id="f-error" role="alert"></p>
        <button class="big primary" type="submit">确定</button>`, () => {
        const outcome = $("f-outcome").value;
        if (outcome === "partly_accepted" && !$("f-acc").value.trim()) {
          $("f-error").textContent = "部分接收：请填写接收量";
          $("f-acc").focus();
          return;
        }
        const body = {
          received_weight_kg: $("f-recv").value, outcome,
          mismatches: [...document.querySelectorAll("input[name=mm]:checked")].map((c) => c.value),
        };
        if (lot.manifest_id) body.manifest_id = lot.manifest_id;
        if (outcome === "partly_accepted") body.accepted_weight_kg = $("f-acc").value;
        queueLotAction("receive", body);
      }, "f-recv");
    }
    message("bad", `${ACTION_ZH[action] || action}：请在管理端办理`);
  }

  function onGenerate() {
    openInput(`<h3>产生登记</h3>
      <label>废物名称 <input id="g-name" required maxlength="200" value=""></label>
      <label>废物代码 <input id="g-code" required maxlength="12" placeholder="如 900-039-49"></label>
      <div class="row"><label>形态 <select id="g-form">${options(FORM_ZH, "solid")}</select></label>
      <label>容器 <select id="g-ctype">${options(CONTAINER_ZH, "drum")}</select></label></div>
      <div class="row"><label>容积 L <input id="g-vol" type="number" inputmode="decimal" min="0" value="200" required></label>
      <label>重量 kg <input id="g-weight" type="number" inputmode="decimal" step="0.001" min="0" required></label></div>
      <label class="check"><input id="g-unsorted" type="checkbox"> 混入生活垃圾收集（仅 900-041-49 含油抹布、劳保用品豁免）</label>
      <button class="big primary" type="submit">登记并生成标签</button>`, () => {
      const lotId = uuid4();
      const unsorted = $("g-unsorted").checked;
      const item = enqueue({
        action: "generate", lot_id: lotId, name: $("g-name").value, waste_code: $("g-code").value,
        physical_form: $("g-form").value, container: { type: $("g-ctype").value, volume_l: $("g-vol").value },
        weight_kg: $("g-weight").value, collected_unsorted: unsorted,
      });
      state.lot = {
        lot_id: lotId, digital_id: null, status: "generated", version: 1, name: item.name,
        waste_code: item.waste_code, weight_kg: item.weight_kg, physical_form: item.physical_form,
        container: item.container, condition: "intact", needs_repack: false, zone_code: null,
        hazard_characteristics: [],
        // as the server decides it (豁免管理清单 #24): 900-041-49 collected unsorted
        exempt: unsorted && item.waste_code.replace(/[^0-9]/g, "") === "90004149",
      };
      state.actions = null;
      remember(state.lot);
      message("info", `已加入待同步：产生登记「${esc(item.name)}」`);
      closeInput(); render(); flush();
    }, "g-name");
  }

  const options = (map, sel) => Object.entries(map).map(([k, v]) =>
    `<option value="${k}"${k === sel ? " selected" : ""}>${v}</option>`).join("");

  let onSubmitInput = null;
  function openInput(html, submit, focusId) {
    const f = $("input-form");
    f.innerHTML = html + `<button class="small" type="button" data-cancel>取消</button>`;
    f.hidden = false;
    onSubmitInput = submit;
    if (focusId) $(focusId).focus();
  }
  function closeInput() { const f = $("input-form"); f.hidden = true; f.innerHTML = ""; onSubmitInput = null; focusScan(); }

  async function printLabel(url) {
    try {
      const r = await fetch(url, { headers: { Authorization: `Bearer ${state.session.access_token}` } });
      if (!r.ok) { message("bad", "标签暂不能打印"); return; }
      window.open(URL.createObjectURL(await r.blob()), "_blank");
    } catch { message("bad", "离线：联网后再打印标签"); }
  }

  // ------------------------------------------------------------------ rendering

  function message(kind, html, extra) {
    const box = $("messages");
    const div = document.createElement("div");
    div.className = `m ${kind}`;
    div.innerHTML = html + (extra || "");
    box.prepend(div);
    while (box.children.length > 8) box.lastChild.remove();
  }

  function render() {
    const lot = state.lot;
    const lc = $("lot-card");
    lc.hidden = !lot;
    if (lot) {
      const hz = (lot.hazard_characteristics || []).join(",");
      lc.innerHTML = `<h2>${esc(lot.name)}<span class="badge${lot.needs_repack ? " warn" : ""}">${esc(STATUS_ZH[lot.status] || lot.status)}</span>
        ${lot.needs_repack ? `<span class="badge warn">容器${esc(CONDITION_ZH[lot.condition])}</span>` : ""}</h2>
        <div class="id">${esc(lot.digital_id || "（待同步后生成识别码）")}</div>
        <dl><dt>代码</dt><dd>${esc(lot.waste_code || lot.category || "")}${hz ? ` · ${esc(hz)}` : ""}</dd>
        <dt>重量</dt><dd>${esc(Number(lot.weight_kg).toString())} kg</dd>
        <dt>容器</dt><dd>${esc(CONTAINER_ZH[lot.container?.type] || lot.container?.type || "")} ${esc(Number(lot.container?.volume_l ?? 0).toString())} L</dd>
        <dt>位置</dt><dd>${esc(lot.zone_code || "未入库")}</dd>
        ${lot.exempt ? "<dt>豁免</dt><dd>混入生活垃圾收集，不按危险废物管理（豁免管理清单 #24）</dd>" : ""}</dl>`;
    }
    const zc = $("zone-card");
    const zone = state.zone;
    zc.hidden = !zone;
    if (zone) {
      zc.innerHTML = `<h2>区域 ${esc(zone.code)}<span class="badge">${zone.kind === "general" ? "一般固废" : "危险废物"}</span></h2>
        <dl><dt>名称</dt><dd>${esc(zone.name)}</dd>${zone.lot_count !== undefined
          ? `<dt>在库</dt><dd>${zone.lot_count} 件 · ${esc(Number(zone.weight_kg).toString())} kg</dd>` : ""}</dl>`;
    }
    const box = $("actions");
    const ready = (a) => (a.allowed ? ((a.needs || []).includes("zone") && !state.zone ? 1 : 0) : 2);
    const list = currentActions().slice().sort((x, y) => ready(x) - ready(y));
    box.innerHTML = list.map((a) => {
      const name = ACTION_ZH[a.action] || a.action;
      const label = (a.action === "store" || a.action === "move") && state.zone && a.allowed
        ? `${name} → ${state.zone.code}` : name;
      const needsZone = a.allowed && (a.needs || []).includes("zone") && !state.zone;
      const why = !a.allowed && a.reason_zh ? `<div class="why">${esc(name)}：${esc(a.reason_zh)}</div>`
        : needsZone ? `<div class="why hint">${esc(name)}：请扫描目标区域码</div>` : "";
      // Steps of another stage stay out of the way; in their own stage, say why not.
      const stage = { load: "allocated", receive: "shipped", label: "generated" }[a.action];
      const hidden = !a.allowed && stage && stage !== state.lot?.status && !a.findings?.length;
      if (hidden) return "";
      return `<button class="act${a.allowed && !needsZone ? " ok" : ""}" data-action="${a.action}"
        ${a.allowed ? "" : "disabled"}>${esc(label)}</button>${why}`;
    }).join("") + (state.lot && !state.actions ? `<div class="why hint">离线或有待同步操作：按本机状态显示，规则由服务器在同步时检查</div>` : "");
    renderQueue();
  }

  // ------------------------------------------------------------------ sign-in

  function show() {
    const signedIn = !!state.session;
    $("signin").hidden = signedIn;
    $("work").hidden = !signedIn;
    $("who").textContent = signedIn
      ? `${state.session.site.code} · ${state.session.user.username} · ${state.session.device.name}` : "";
    state.syncError = null;
    renderQueue();
    if (signedIn) { render(); focusScan(); } else {
      const t = localStorage.getItem(KEY.device);
      if (t) $("device-token").value = t;
      (t ? $("username") : $("device-token")).focus();
    }
  }

  async function signIn(ev) {
    ev.preventDefault();
    const token = $("device-token").value.trim();
    try {
      const r = await call("POST", "/auth/sign-in",
        { username: $("username").value.trim(), password: $("password").value }, token);
      if (r.status !== 200) { $("signin-msg").textContent = r.data?.detail || `登录失败（${r.status}）`; return; }
      localStorage.setItem(KEY.device, token);
      state.session = r.data;
      save(KEY.session, r.data);
      $("password").value = "";
      $("signin-msg").textContent = "";
      setOnline(true);
      show();
      flush();
    } catch (e) {
      $("signin-msg").textContent = "无法连接服务器，请在有网络的地方登录";
    }
  }

  // Signing out keeps the operator's queued items on the device: they go when the operator
  // signs in again, never under the next one's name. Say so first.
  function askSignOut() {
    const n = queue().filter(isMine).length;
    if (n && !window.confirm(`你还有 ${n} 条操作未同步。\n它们会保留在本机，你下次登录后自动同步（其他人登录不会代你上传）。\n确定退出登录？`)) return;
    signOut(false);
  }

  function signOut(clearDevice) {
    state.session = null;
    localStorage.removeItem(KEY.session);
    if (clearDevice) localStorage.removeItem(KEY.device);
    state.lot = state.zone = state.actions = null;
    show();
  }

  // ------------------------------------------------------------------ focus: the scan field

  function focusScan() {
    const scan = $("scan");
    if (!$("work").hidden && $("input-form").hidden) scan.focus();
  }

  // ------------------------------------------------------------------ wiring

  $("signin-form").addEventListener("submit", signIn);
  $("scan-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("scan").value;
    $("scan").value = "";
    onScan(v);
  });
  $("actions").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (b && !b.disabled) onAction(b.dataset.action);
  });
  $("input-form").addEventListener("submit", (ev) => { ev.preventDefault(); if (onSubmitInput) onSubmitInput(); });
  $("input-form").addEventListener("click", (ev) => {
    const c = ev.target.closest("[data-cond]");
    if (c) queueLotAction("inspect", { condition: c.dataset.cond });
    if (ev.target.closest("[data-cancel]")) closeInput();
  });
  $("messages").addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-label]");
    if (b) printLabel(b.dataset.label);
  });
  $("btn-generate").addEventListener("click", onGenerate);
  $("btn-clear").addEventListener("click", () => { state.lot = state.zone = state.actions = null; render(); focusScan(); });
  $("btn-signout").addEventListener("click", askSignOut);
  $("queue").addEventListener("click", () => {
    toggleQueuePanel();
    if (!$("queue-panel").hidden) flush(true);
  });
  $("queue-panel").addEventListener("click", (ev) => {
    const d = ev.target.closest("[data-discard]");
    if (d) discard(d.dataset.discard);
    if (ev.target.closest("[data-sync]")) flush(true);
    if (ev.target.closest("[data-close]")) { toggleQueuePanel(false); focusScan(); }
  });
  // Keyboard-wedge scanners type into whatever has focus: keep it on the scan field.
  document.addEventListener("click", (ev) => {
    if (!ev.target.closest("input, select, textarea")) setTimeout(focusScan, 0);
  });
  $("scan").addEventListener("blur", () => setTimeout(() => {
    const a = document.activeElement;
    if (!a || a === document.body || a.tagName === "BUTTON") focusScan();
  }, 150));
  window.addEventListener("online", () => { setOnline(true); flush(); });
  window.addEventListener("offline", () => setOnline(false));
  setInterval(flush, 10000);
  window.addEventListener("storage", renderQueue);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m" }).catch(() => {});
  }
  setOnline(navigator.onLine);
  show();
  flush();

  // For tests and support: the queue as it stands.
  window.hazchain = { queue, flush, state, render };
})();
