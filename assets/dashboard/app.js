// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
// Tollgate's live dashboard: reads the agent's JSON API (docs/api.md) and draws it.
// No framework and nothing fetched from elsewhere: charts are drawn on <canvas> here.
//
// For tests and scripts, the DOM carries what was drawn: each chart's <canvas> has
// data-points (points drawn, all series) and data-series; each legend entry has
// data-tenant, data-points, data-nonzero (points above zero), data-max and data-sum (the
// area under the line: bits or packets over the window drawn); every event row
// is a <tr class="event"> with data-type, data-src, data-tenant and data-time.
'use strict';

(function () {
	const RATES_EVERY_MS = 2000;
	const FLOWS_EVERY_MS = 3000;
	const BANS_EVERY_MS = 3000;
	const STATUS_EVERY_MS = 5000;
	const EVENTS_WAIT_S = 20;
	const EVENTS_KEEP = 200;
	const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2',
		'#db2777', '#4b5563', '#65a30d', '#9333ea', '#ea580c', '#0d9488'];

	const $ = (id) => document.getElementById(id);
	const state = {
		rates: null,
		events: [],
		cursor: null,
		colors: new Map(),
	};

	// ---- errors: one line per source, gone once that source answers again ----
	function setError(source, err) {
		const box = $('errors');
		let p = box.querySelector('p[data-source="' + source + '"]');
		if (!p) {
			p = document.createElement('p');
			p.dataset.source = source;
			box.appendChild(p);
		}
		p.textContent = source + ': ' + (err && err.message ? err.message : String(err));
	}

	function clearError(source) {
		const p = $('errors').querySelector('p[data-source="' + source + '"]');
		if (p)
			p.remove();
	}

	// fetch with a time limit; an answer other than 2xx becomes an Error carrying the
	// server's {"error": ...} message when it sent one.
	async function getJSON(url, timeoutMs) {
		const ctl = new AbortController();
		const timer = setTimeout(() => ctl.abort(), timeoutMs || 10000);
		let resp, text;
		try {
			resp = await fetch(url, { signal: ctl.signal, cache: 'no-store' });
			text = await resp.text();
		} catch (e) {
			throw new Error(e && e.name === 'AbortError' ? 'no answer in time'
				: 'cannot reach the agent (' + (e && e.message ? e.message : e) + ')');
		} finally {
			clearTimeout(timer);
		}
		let body;
		try {
			body = text.length ? JSON.parse(text) : null;
		} catch (e) {
			if (!resp.ok)
				throw new Error('HTTP ' + resp.status + ' ' + resp.statusText);
			throw new Error('the answer is not JSON');
		}
		if (!resp.ok) {
			const msg = body && typeof body.error === 'string' ? body.error : resp.statusText;
			throw new Error('HTTP ' + resp.status + ': ' + msg);
		}
		return body;
	}

	// Runs task every period, never two at a time, errors shown and retried.
	function every(source, periodMs, task) {
		const run = async () => {
			try {
				await task();
				clearError(source);
			} catch (e) {
				setError(source, e);
			}
			setTimeout(run, periodMs);
		};
		run();
	}

	// ---- formatting ----
	const num = (v) => typeof v === 'number' && isFinite(v);

	function scaleFor(max, unit) {
		const base = unit === 'pps' ? 'pkt/s' : 'bit/s';
		for (const [div, prefix] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']])
			if (max >= div)
				return { div: div, label: prefix + base };
		return { div: 1, label: base };
	}

	function fmtRate(v, unit) {
		if (!num(v))
			return '–';
		const s = scaleFor(Math.abs(v), unit);
		const x = v / s.div;
		return (x >= 100 || s.div === 1 ? x.toFixed(0) : x.toFixed(x >= 10 ? 1 : 2)) + ' ' + s.label;
	}

	function fmtCount(v) {
		if (!num(v))
			return '–';
		return v.toLocaleString('en-US');
	}

	function fmtBytes(v) {
		if (!num(v))
			return '–';
		const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
		let i = 0;
		while (v >= 1000 && i < units.length - 1) {
			v /= 1000;
			i++;
		}
		return (i ? v.toFixed(v >= 100 ? 0 : 1) : v.toFixed(0)) + ' ' + units[i];
	}

	const pad2 = (n) => String(n).padStart(2, '0');
	function clock(d) {
		return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
	}

	function fmtTime(s) {
		const t = Date.parse(s);
		return isNaN(t) ? String(s === undefined ? '' : s) : clock(new Date(t));
	}

	// ICMP's "ports" are its type and code: shown as an address alone
	function hostPort(addr, port, proto) {
		if (addr === undefined || addr === null)
			return '–';
		addr = String(addr);
		if (!num(port) || port === 0 || proto === 'icmp' || proto === 'icmpv6')
			return addr;
		return (addr.includes(':') ? '[' + addr + ']' : addr) + ':' + port;
	}

	function colorOf(name) {
		if (!state.colors.has(name))
			state.colors.set(name, PALETTE[state.colors.size % PALETTE.length]);
		return state.colors.get(name);
	}

	function cell(tr, text, cls) {
		const td = document.createElement('td');
		td.textContent = text === undefined || text === null || text === '' ? '–' : String(text);
		if (cls)
			td.className = cls;
		tr.appendChild(td);
		return td;
	}

	// ---- rate charts ----
	function niceStep(raw) {
		const p = Math.pow(10, Math.floor(Math.log10(raw)));
		const f = raw / p;
		return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
	}

	function drawChart(canvas, legend, series, windowS, interval, endMs, unit) {
		const dpr = window.devicePixelRatio || 1;
		const cssW = canvas.clientWidth || canvas.width;
		const cssH = canvas.clientHeight || canvas.height;
		canvas.width = Math.round(cssW * dpr);
		canvas.height = Math.round(cssH * dpr);
		const ctx = canvas.getContext('2d');
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.clearRect(0, 0, cssW, cssH);

		const left = 62, right = 12, top = 22, bottom = 30;
		const w = Math.max(10, cssW - left - right), h = Math.max(10, cssH - top - bottom);
		const t0 = endMs - (windowS - 1) * interval * 1000;
		const span = Math.max(1, (windowS - 1) * interval * 1000);
		const xOf = (t) => left + ((t - t0) / span) * w;

		let max = 0;
		for (const s of series)
			for (const v of s.values)
				if (num(v) && v > max)
					max = v;
		const sc = scaleFor(max, unit);
		const step = niceStep(Math.max(max / sc.div, 1) / 4) * sc.div;
		const yMax = Math.max(step, Math.ceil(max / step) * step);
		const yOf = (v) => top + h - (v / yMax) * h;

		// grid and y axis
		ctx.font = '11px system-ui, "DejaVu Sans", sans-serif';
		ctx.strokeStyle = '#e3e6eb';
		ctx.fillStyle = '#6b7280';
		ctx.lineWidth = 1;
		ctx.textAlign = 'right';
		ctx.textBaseline = 'middle';
		for (let v = 0; v <= yMax * 1.0001; v += step) {
			const y = Math.round(yOf(v)) + 0.5;
			ctx.beginPath();
			ctx.moveTo(left, y);
			ctx.lineTo(left + w, y);
			ctx.stroke();
			const x = v / sc.div;
			ctx.fillText(Number.isInteger(x) ? String(x) : x.toFixed(x < 10 ? 2 : 1), left - 6, y);
		}
		ctx.textAlign = 'left';
		ctx.textBaseline = 'alphabetic';
		ctx.fillText(sc.label, 4, 13);

		// x axis: clock times at round multiples
		const spanS = span / 1000;
		const tick = [10, 15, 30, 60, 120, 300, 600].find((s) => spanS / s <= 6) || 600;
		ctx.textAlign = 'center';
		ctx.textBaseline = 'top';
		ctx.strokeStyle = '#9aa1ad';
		ctx.beginPath();
		ctx.moveTo(left, top + h + 0.5);
		ctx.lineTo(left + w, top + h + 0.5);
		ctx.stroke();
		for (let t = Math.ceil(t0 / 1000 / tick) * tick * 1000; t <= endMs; t += tick * 1000) {
			const x = Math.round(xOf(t)) + 0.5;
			ctx.beginPath();
			ctx.moveTo(x, top + h);
			ctx.lineTo(x, top + h + 4);
			ctx.stroke();
			ctx.fillText(clock(new Date(t)), x, top + h + 6);
		}
		ctx.textAlign = 'right';
		ctx.fillText('time', left + w, top + h + 18);

		// the series, and what was drawn, for the legend and for tests
		let total = 0;
		legend.replaceChildren();
		ctx.lineWidth = 1.8;
		ctx.lineJoin = 'round';
		for (const s of series) {
			const n = s.values.length;
			let drawn = 0, nonzero = 0, smax = 0, sum = 0, last, pen = false;
			ctx.strokeStyle = s.color;
			ctx.beginPath();
			for (let i = 0; i < n; i++) {
				const v = s.values[i];
				if (!num(v) || v < 0) {
					pen = false;
					continue;
				}
				const t = endMs - (n - 1 - i) * interval * 1000;
				if (t < t0)
					continue;
				const x = xOf(t), y = yOf(v);
				if (pen)
					ctx.lineTo(x, y);
				else
					ctx.moveTo(x, y);
				pen = true;
				drawn++;
				if (v > 0)
					nonzero++;
				if (v > smax)
					smax = v;
				sum += v * interval;
				last = v;
			}
			ctx.stroke();
			total += drawn;

			const li = document.createElement('li');
			li.dataset.tenant = s.name;
			li.dataset.points = String(drawn);
			li.dataset.nonzero = String(nonzero);
			li.dataset.max = String(smax);
			li.dataset.sum = String(Math.round(sum));
			const sw = document.createElement('span');
			sw.className = 'swatch';
			sw.style.background = s.color;
			const name = document.createElement('span');
			name.textContent = s.name;
			const now = document.createElement('span');
			now.className = 'now';
			now.textContent = fmtRate(last, unit);
			li.append(sw, name, now);
			legend.appendChild(li);
		}
		canvas.dataset.points = String(total);
		canvas.dataset.series = String(series.length);
		if (!series.length) {
			ctx.fillStyle = '#6b7280';
			ctx.textAlign = 'center';
			ctx.textBaseline = 'middle';
			ctx.font = '13px system-ui, "DejaVu Sans", sans-serif';
			ctx.fillText('no tenant data', left + w / 2, top + h / 2);
			const li = document.createElement('li');
			li.className = 'muted';
			li.textContent = 'no tenants';
			legend.appendChild(li);
		}
	}

	function renderRates() {
		const d = state.rates;
		if (!d)
			return;
		const windowS = Number($('window').value);
		const unit = $('unit').value;
		const interval = num(d.interval) && d.interval > 0 ? d.interval : 1;
		let endMs = typeof d.end === 'string' ? Date.parse(d.end) : num(d.end) ? d.end * 1000 : NaN;
		if (isNaN(endMs))
			endMs = Date.now();
		const names = Object.keys(d.tenants).sort();
		for (const dir of ['in', 'out']) {
			const key = dir + '_' + unit;
			const series = names.map((name) => {
				const t = d.tenants[name];
				return {
					name: name,
					color: colorOf(name),
					values: t && Array.isArray(t[key]) ? t[key] : [],
				};
			});
			drawChart($('chart-' + dir), $('legend-' + dir), series, windowS, interval, endMs, unit);
		}
	}

	async function pollRates() {
		const windowS = Number($('window').value) || 300;
		const d = await getJSON('/api/v1/rates?seconds=' + windowS);
		if (!d || typeof d !== 'object' || !d.tenants || typeof d.tenants !== 'object')
			throw new Error('unexpected answer (no "tenants" object)');
		state.rates = d;
		renderRates();
		$('updated').textContent = 'updated ' + clock(new Date());
	}

	// ---- top flows ----
	async function pollFlows() {
		const d = await getJSON('/api/v1/flows?top=20');
		const flows = Array.isArray(d) ? d : d && Array.isArray(d.flows) ? d.flows : null;
		if (!flows)
			throw new Error('unexpected answer (no flow array)');
		const body = $('flow-rows');
		body.replaceChildren();
		for (const f of flows) {
			if (!f || typeof f !== 'object')
				continue;
			const tr = document.createElement('tr');
			tr.className = 'flow';
			tr.dataset.tenant = f.tenant === null || f.tenant === undefined ? '' : String(f.tenant);
			cell(tr, f.tenant);
			cell(tr, f.direction === 'ingress' ? 'in' : f.direction === 'egress' ? 'out' : f.direction);
			cell(tr, f.proto);
			cell(tr, hostPort(f.src, f.sport, f.proto), 'addr');
			cell(tr, hostPort(f.dst, f.dport, f.proto), 'addr');
			cell(tr, f['class']);
			cell(tr, num(f.bps) ? fmtRate(f.bps, 'bps') : '–', 'num');
			cell(tr, fmtBytes(f.bytes), 'num');
			cell(tr, fmtCount(f.packets), 'num');
			body.appendChild(tr);
		}
		$('flows-empty').hidden = body.children.length > 0;
	}

	// ---- security events: long poll on the events file ----
	function eventRow(e) {
		const tr = document.createElement('tr');
		tr.className = 'event';
		tr.dataset.type = String(e.type === undefined ? '' : e.type);
		tr.dataset.src = e.src === undefined ? '' : String(e.src);
		tr.dataset.tenant = e.tenant === undefined || e.tenant === null ? '' : String(e.tenant);
		tr.dataset.time = String(e.time === undefined ? '' : e.time);
		const t = cell(tr, fmtTime(e.time));
		t.title = String(e.time === undefined ? '' : e.time);
		cell(tr, e.type, 'type');
		const src = cell(tr, e.src === undefined ? '' : hostPort(e.src, e.sport, e.proto), 'addr');
		if (e.dst !== undefined)
			src.title = 'to ' + hostPort(e.dst, e.dport, e.proto) + (e.proto !== undefined ? ' ' + e.proto : '');
		cell(tr, e.tenant);
		const why = [e.reason, e.rule].filter((x) => x !== undefined && x !== null && x !== '');
		if (!why.length && e.comm !== undefined)
			why.push(String(e.comm) + (num(e.pid) ? ' (pid ' + e.pid + ')' : ''));
		cell(tr, why.join(' / '));
		cell(tr, e.action);
		return tr;
	}

	function renderEvents(fresh) {
		const body = $('event-rows');
		body.replaceChildren();
		state.events.forEach((e, i) => {
			const tr = eventRow(e);
			if (i < fresh)
				tr.classList.add('fresh');
			body.appendChild(tr);
		});
		$('events-empty').hidden = state.events.length > 0;
	}

	function takeEvents(d, replace) {
		if (!d || typeof d !== 'object' || !Array.isArray(d.events))
			throw new Error('unexpected answer (no "events" array)');
		const got = d.events.filter((e) => e && typeof e === 'object');
		// the file's order is oldest first; the table shows the newest first
		const newest = got.slice().reverse();
		state.events = (replace ? newest : newest.concat(state.events)).slice(0, EVENTS_KEEP);
		if (typeof d.cursor === 'string' || typeof d.cursor === 'number')
			state.cursor = String(d.cursor);
		else
			state.cursor = null;
		renderEvents(replace ? 0 : newest.length);
	}

	async function eventsLoop() {
		for (;;) {
			try {
				if (state.cursor === null) {
					takeEvents(await getJSON('/api/v1/events?limit=50'), true);
					clearError('events');
					if (state.cursor === null) // no cursor to follow: poll again
						await new Promise((r) => setTimeout(r, 2000));
					continue;
				}
				const url = '/api/v1/events?after=' + encodeURIComponent(state.cursor) +
					'&limit=' + EVENTS_KEEP + '&wait=' + EVENTS_WAIT_S;
				takeEvents(await getJSON(url, (EVENTS_WAIT_S + 15) * 1000), false);
				clearError('events');
			} catch (e) {
				setError('events', e);
				await new Promise((r) => setTimeout(r, 3000));
			}
		}
	}

	// ---- bans ----
	async function pollBans() {
		const d = await getJSON('/api/v1/bans');
		const bans = Array.isArray(d) ? d : d && Array.isArray(d.bans) ? d.bans : null;
		if (!bans)
			throw new Error('unexpected answer (no ban array)');
		const body = $('ban-rows');
		body.replaceChildren();
		for (const b of bans) {
			if (!b || typeof b !== 'object')
				continue;
			const tr = document.createElement('tr');
			tr.className = 'ban';
			tr.dataset.prefix = String(b.prefix === undefined ? '' : b.prefix);
			cell(tr, b.prefix, 'addr');
			cell(tr, b.origin);
			cell(tr, b.rule);
			cell(tr, b.expired ? 'expired' : num(b.expires_in_s)
				? Math.round(b.expires_in_s) + ' s' : 'never', 'num');
			body.appendChild(tr);
		}
		$('bans-empty').hidden = body.children.length > 0;
	}

	// ---- health ----
	async function pollStatus() {
		const badge = $('health');
		let d;
		try {
			d = await getJSON('/api/v1/status');
		} catch (e) {
			badge.dataset.healthy = 'false';
			badge.textContent = 'agent unreachable';
			throw e;
		}
		if (!d || typeof d !== 'object')
			throw new Error('unexpected answer');
		const healthy = d.healthy === true;
		badge.dataset.healthy = String(healthy);
		const problems = Array.isArray(d.problems) ? d.problems : [];
		badge.textContent = healthy ? 'healthy' : 'unhealthy' + (problems.length ? ': ' + problems[0] : '');
		badge.title = problems.join('\n');
	}

	function start() {
		// /?window=60 opens on another window (60, 300 or 600 seconds)
		const w = new URLSearchParams(window.location.search).get('window');
		if (w && Array.from($('window').options).some((o) => o.value === w))
			$('window').value = w;
		$('window').addEventListener('change', () => {
			pollRates().then(() => clearError('rates'), (e) => setError('rates', e));
		});
		const redraw = () => {
			try {
				renderRates();
			} catch (e) {
				setError('rates', e);
			}
		};
		$('unit').addEventListener('change', redraw);
		window.addEventListener('resize', redraw);
		every('status', STATUS_EVERY_MS, pollStatus);
		every('rates', RATES_EVERY_MS, pollRates);
		every('flows', FLOWS_EVERY_MS, pollFlows);
		every('bans', BANS_EVERY_MS, pollBans);
		eventsLoop();
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', start);
	else
		start();
})();
