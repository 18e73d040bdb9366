/* Switchboard's admin screens: forms that write configuration through the REST API.
 *
 * - `sb-form`, an htmx extension: a form with `data-admin-form` is sent as the whole JSON
 *   entity. The entity as read (`data-base`, a <script type="application/json"> id) is the
 *   starting point, so fields a form does not show keep their values; each named field
 *   overwrites its path (`distribution.acw_duration_s`, `levels[1].requirements[0].skill_id`)
 *   with a value of its `data-type`. Row lists (`data-rows="levels"`) are rebuilt from the
 *   rows on the page; `data-dict-key` turns a row list into an object keyed by that field.
 * - Concurrency: `If-Match` with the form's `data-etag`; a saved answer's ETag replaces it.
 * - Refusals: every `errors[].path` of the problem document is shown beside the field of
 *   that name (or the nearest row holding it); the rest are listed on top with the sentence.
 * - Rows: add, remove, move; names, ids and labels are renumbered.
 * - The workflow editor: a node named by an issue is selected in the JSON text.
 * See docs/web.md, "Admin screens".
 */
(function () {
  "use strict";

  const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

  // ------------------------------------------------------------------ paths

  function tokens(path) {
    const out = [];
    const re = /([^.[\]]+)|\[(\d+)\]/g;
    let m;
    while ((m = re.exec(path)) !== null) {
      out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
    }
    return out;
  }

  function setPath(obj, path, value) {
    const keys = tokens(path);
    let here = obj;
    for (let i = 0; i < keys.length - 1; i++) {
      const key = keys[i];
      if (here[key] === null || typeof here[key] !== "object") {
        here[key] = typeof keys[i + 1] === "number" ? [] : {};
      }
      here = here[key];
    }
    here[keys[keys.length - 1]] = value;
  }

  function deletePath(obj, path) {
    const keys = tokens(path);
    let here = obj;
    for (let i = 0; i < keys.length - 1; i++) {
      here = here ? here[keys[i]] : undefined;
    }
    if (here && typeof here === "object") delete here[keys[keys.length - 1]];
  }

  function getPath(obj, path) {
    return tokens(path).reduce(function (here, key) {
      return here === null || here === undefined ? undefined : here[key];
    }, obj);
  }

  function parentPath(path) {
    const m = /^(.*)(\.[^.[\]]+|\[\d+\])$/.exec(path);
    return m ? m[1] : "";
  }

  function idFor(path) {
    return "f-" + path.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/-+$/, "");
  }

  // ------------------------------------------------------------------ encoding

  class FieldError extends Error {
    constructor(path, message) {
      super(message);
      this.path = path;
    }
  }

  function readBase(form) {
    const holder = form.dataset.base ? document.getElementById(form.dataset.base) : null;
    return holder ? JSON.parse(holder.textContent) : {};
  }

  /* A field's value as JSON, by its `data-type` (see docs/web.md). */
  function convert(type, raw, el) {
    switch (type) {
      case "bool":
        return el.checked;
      case "str?":
        return raw === "" ? null : raw;
      case "int":
      case "int?":
        if (raw.trim() === "") return null;
        return /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
      case "json":
        if (raw.trim() === "") return null;
        try {
          return JSON.parse(raw);
        } catch (error) {
          throw new FieldError(el.name || el.id, "This is not valid JSON: " + error.message);
        }
      case "csv":
        return raw.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
      default:
        return raw;
    }
  }

  function fieldValue(el) {
    return convert(el.dataset.type || "str", el.value, el);
  }

  /* The JSON body of a form: its base entity with every enabled field written over it. */
  function encodeForm(form) {
    const body = readBase(form);
    const lists = new Set();
    form.querySelectorAll("[data-rows]").forEach(function (box) {
      setPath(body, box.dataset.rows, []);
      box.querySelectorAll(":scope > [data-row]").forEach(function (row) {
        setPath(body, row.dataset.path, {});
      });
    });
    Array.from(form.elements).forEach(function (el) {
      if (!el.name || el.matches(":disabled") || el.dataset.local !== undefined) return;
      const type = el.dataset.type || "str";
      if (el.type === "radio" && !el.checked) return;
      if (type === "list") {
        if (!lists.has(el.name)) {
          lists.add(el.name);
          setPath(body, el.name, []);
        }
        if (el.tagName === "SELECT") {
          Array.from(el.selectedOptions).forEach(function (o) { getPath(body, el.name).push(o.value); });
        } else if (el.checked) {
          getPath(body, el.name).push(el.value);
        }
        return;
      }
      if (type === "scope") {
        const [scopeType, scopeId] = el.value.split(":");
        const at = parentPath(el.name);
        setPath(body, at + ".scope_type", scopeType || null);
        setPath(body, at + ".scope_id", scopeId || null);
        return;
      }
      if (type.endsWith("-omit")) {
        if (el.value === "") {
          deletePath(body, el.name);
          return;
        }
        setPath(body, el.name, convert(type.slice(0, -5), el.value, el));
        return;
      }
      setPath(body, el.name, fieldValue(el));
    });
    // Row lists kept as objects by a key (User.memberships, User.skills), innermost first.
    Array.from(form.querySelectorAll("[data-rows][data-dict-key]")).reverse().forEach(function (box) {
      const rows = getPath(body, box.dataset.rows) || [];
      const keyed = {};
      rows.forEach(function (row) { keyed[row[box.dataset.dictKey]] = row; });
      setPath(body, box.dataset.rows, keyed);
    });
    return body;
  }

  function adminForm(elt) {
    if (!elt || !elt.closest) return null;
    const own = elt.closest("form[data-admin-form]");
    if (own) return own;
    const named = elt.dataset && elt.dataset.form;
    return named ? document.getElementById(named) : null;
  }

  htmx.defineExtension("sb-form", {
    onEvent: function (name, event) {
      if (name !== "htmx:configRequest") return true;
      const detail = event.detail;
      const elt = detail.elt;
      const form = adminForm(elt);
      if (form && form.dataset.etag && UNSAFE.has(detail.verb.toUpperCase())) {
        detail.headers["If-Match"] = form.dataset.etag;
      }
      if (!UNSAFE.has(detail.verb.toUpperCase()) || detail.verb.toUpperCase() === "DELETE") {
        return true;
      }
      detail.headers["Content-Type"] = "application/json";
      if (elt.dataset.body !== undefined) {
        elt._sbBody = elt.dataset.body || "{}";
        return true;
      }
      if (!form || elt.dataset.noBody !== undefined) {
        elt._sbBody = "{}";
        return true;
      }
      clearErrors(form);
      if (form.dataset.withPlace !== undefined) fillPlace(form);
      try {
        const body = form.dataset.bodyFrom
          ? fieldValue(document.getElementById(form.dataset.bodyFrom))
          : encodeForm(form);
        elt._sbBody = JSON.stringify(body);
      } catch (error) {
        if (!(error instanceof FieldError)) throw error;
        showProblem(form, {
          detail: error.message,
          errors: [{ path: error.path, message: error.message }],
        });
        if (form.dataset.bodyFrom) selectJsonError(document.getElementById(form.dataset.bodyFrom), error.message);
        event.preventDefault();
        return false;
      }
      return true;
    },
    encodeParameters: function (xhr, parameters, elt) {
      xhr.overrideMimeType("text/json");
      return elt._sbBody !== undefined ? elt._sbBody : "{}";
    },
  });

  /* New workflows: the name and OU chosen above the templates, and the kind of an empty one. */
  function fillPlace(form) {
    const name = document.getElementById("wf-name");
    const ou = document.getElementById("wf-ou");
    form.querySelectorAll("[data-place]").forEach(function (el) {
      if (el.dataset.place === "name" && name) el.value = name.value.trim();
      if (el.dataset.place === "ou" && ou) el.value = ou.value;
    });
    const kind = form.querySelector("[data-kind-select]");
    if (kind) {
      const option = kind.selectedOptions[0];
      form.querySelectorAll("[data-from-kind]").forEach(function (el) {
        el.value = option.dataset[el.dataset.fromKind];
      });
    }
  }

  // ------------------------------------------------------------------ refusals

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      const described = (el.getAttribute("aria-describedby") || "").split(/\s+/)
        .filter(function (id) { return id && !id.endsWith("-error"); });
      if (described.length) el.setAttribute("aria-describedby", described.join(" "));
      else el.removeAttribute("aria-describedby");
    });
    form.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    const summary = problemsBox(form);
    if (summary) {
      summary.hidden = true;
      summary.replaceChildren();
    }
  }

  function problemsBox(form) {
    return form.dataset.problems
      ? document.getElementById(form.dataset.problems)
      : form.querySelector(".form-problems");
  }

  /* The field (or row) an error path names: the exact name, another name it is known by
   * (`data-also`), a row's path, or the nearest of those above it. */
  function targetFor(form, path) {
    let here = path;
    while (here) {
      const found = Array.from(form.querySelectorAll('[name="' + CSS.escape(here) + '"]')).find(function (el) {
        return el.type !== "hidden" && !el.disabled;
      }) ||
        Array.from(form.querySelectorAll("[data-also]")).find(function (el) {
          return el.dataset.also.split(/\s+/).includes(here);
        }) ||
        form.querySelector('[data-path="' + CSS.escape(here) + '"], [data-key-path="' + CSS.escape(here) + '"]');
      if (found && !found.closest("template")) return found;
      here = parentPath(here);
    }
    return null;
  }

  function labelOf(target) {
    const wrapper = target.closest(".field, [data-row], fieldset");
    const label = wrapper && wrapper.querySelector("label, legend, .row-title");
    return label ? label.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function attachError(target, message, index) {
    const wrapper = target.matches("[data-row]") ? target : (target.closest(".field, .check, fieldset") || target);
    wrapper.classList.add("has-error");
    const note = document.createElement("p");
    note.className = "field-error";
    const control = target.matches("input, select, textarea") ? target
      : target.querySelector("input, select, textarea");
    note.id = (control && control.id ? control.id : idFor(target.dataset.path || "row")) + "-" + index + "-error";
    note.textContent = message;
    if (target.matches("[data-row]")) {
      target.insertBefore(note, target.firstElementChild ? target.firstElementChild.nextSibling : null);
    } else if (wrapper.matches(".check")) {
      wrapper.after(note);
    } else {
      wrapper.append(note);
    }
    if (control) {
      control.setAttribute("aria-invalid", "true");
      const described = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      described.push(note.id);
      control.setAttribute("aria-describedby", described.join(" "));
    }
    return control || target;
  }

  function showProblem(form, problem) {
    const errors = problem.errors || [];
    const onTop = [];
    const placed = [];
    errors.forEach(function (error, index) {
      const target = error.path ? targetFor(form, error.path) : null;
      if (target) {
        const control = attachError(target, error.message, index);
        placed.push({ error: error, control: control, label: labelOf(target) });
      } else {
        onTop.push(error);
      }
    });
    const box = problemsBox(form);
    if (!box) return;
    box.replaceChildren();
    const head = document.createElement("p");
    head.className = "problems-title";
    if (errors.length > 1) {
      head.textContent = "Not saved: " + errors.length + " problems need your attention.";
    } else if (errors.length === 1) {
      head.textContent = "Not saved: " + (errors[0].message || problem.detail);
    } else {
      head.textContent = problem.detail || problem.title || "The request was refused.";
    }
    box.append(head);
    if (problem.status === 412) {
      const again = document.createElement("p");
      again.append("Someone else saved a newer version while you were editing. ");
      const link = document.createElement("a");
      link.href = location.pathname;
      link.textContent = "Load the current version";
      again.append(link, " (your changes here are lost), or copy them first.");
      box.append(again);
    }
    if (placed.length || onTop.length > 1 || (onTop.length === 1 && errors.length > 1)) {
      const list = document.createElement("ul");
      placed.forEach(function (item) {
        const li = document.createElement("li");
        const link = document.createElement("a");
        link.href = "#" + (item.control.id || "");
        link.textContent = errors.length > 1
          ? (item.label ? item.label + ": " : "") + item.error.message
          : "Go to " + (item.label ? "“" + item.label + "”" : "the field");
        link.addEventListener("click", function (event) {
          event.preventDefault();
          item.control.focus();
        });
        li.append(link);
        list.append(li);
      });
      onTop.forEach(function (error) {
        const li = document.createElement("li");
        const node = /^nodes\[([^\]]+)\]/.exec(error.path || "");
        li.textContent = error.message;
        if (node && form.dataset.bodyFrom) {
          li.append(" ");
          li.append(nodeButton(node[1]));
        }
        list.append(li);
      });
      box.append(list);
    }
    box.hidden = false;
    box.focus();
  }

  function problemOf(xhr) {
    try {
      const problem = JSON.parse(xhr.responseText);
      if (problem && typeof problem === "object") return problem;
    } catch (ignored) { /* not JSON */ }
    const doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    return {
      status: xhr.status,
      detail: (doc.body.textContent || "").trim() || "The request failed (HTTP " + xhr.status + ").",
    };
  }

  // Before the page script's general handler (bubbling on document): an admin form shows
  // its refusals itself, beside the fields.
  document.addEventListener("htmx:responseError", function (event) {
    const form = adminForm(event.detail.elt);
    if (!form) return;
    event.stopPropagation();
    const problem = problemOf(event.detail.xhr);
    problem.status = problem.status || event.detail.xhr.status;
    showProblem(form, problem);
  }, true);

  // ------------------------------------------------------------------ success

  function announce(form, text) {
    const status = form.querySelector("[data-saved]") ||
      (form.dataset.status && document.getElementById(form.dataset.status));
    if (!status) return;
    status.textContent = text;
    window.clearTimeout(status._sbClear);
    status._sbClear = window.setTimeout(function () { status.textContent = ""; }, 8000);
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    const detail = event.detail;
    if (!detail.successful) return;
    const elt = detail.elt;
    const form = adminForm(elt);
    if (!form) return;
    const xhr = detail.xhr;
    const verb = (detail.requestConfig.verb || "").toUpperCase();
    if (!UNSAFE.has(verb)) return;
    let answer = null;
    try {
      answer = xhr.responseText ? JSON.parse(xhr.responseText) : null;
    } catch (ignored) { /* no body */ }
    const etag = xhr.getResponseHeader("ETag");
    if (xhr.status === 201 && form.dataset.createdGo && answer && answer.id) {
      window.location.assign(form.dataset.createdGo.replace("{id}", encodeURIComponent(answer.id)));
      return;
    }
    if (form.dataset.secret && answer && answer.api_key) {
      showSecret(document.getElementById(form.dataset.secret), answer);
      form.reset();
      return;
    }
    if (etag && elt.dataset.keepEtag === undefined) form.dataset.etag = etag;
    if (answer && form.dataset.base && verb === "PUT" && form.dataset.bodyFrom === undefined) {
      const holder = document.getElementById(form.dataset.base);
      const kept = Object.assign({}, answer);
      (form.dataset.serverOwned || "id version").split(/\s+/).forEach(function (k) { delete kept[k]; });
      if (holder) holder.textContent = JSON.stringify(kept);
    }
    clearErrors(form);
    const version = form.querySelector("[data-version]");
    if (version && answer && answer.version !== undefined) version.textContent = String(answer.version);
    announce(form, elt.dataset.done || "Saved at " + new Date().toLocaleTimeString() + ".");
  });

  function showSecret(panel, answer) {
    if (!panel) return;
    panel.querySelector("[data-secret-value]").value = answer.api_key;
    panel.querySelector("[data-secret-name]").textContent = answer.name;
    panel.hidden = false;
    panel.querySelector("[data-secret-value]").focus();
    panel.querySelector("[data-secret-value]").select();
  }

  document.addEventListener("click", function (event) {
    const copy = event.target.closest && event.target.closest("[data-copy]");
    if (!copy) return;
    const field = document.getElementById(copy.dataset.copy);
    field.select();
    const done = function () { copy.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // ------------------------------------------------------------------ rows

  function renumber(box) {
    const path = box.dataset.rows;
    box.querySelectorAll(":scope > [data-row]").forEach(function (row, index) {
      const old = row.dataset.path;
      const now = path + "[" + index + "]";
      if (old === now) return;
      const oldId = idFor(old);
      const nowId = idFor(now);
      // A path ends with "]", so "levels[1]" never matches inside "levels[10]"; ids are
      // matched with the "-" that follows them, or whole.
      const swap = function (text) {
        if (!text) return text;
        if (text === oldId) return nowId;
        return text.split(old).join(now).split(oldId + "-").join(nowId + "-");
      };
      [row].concat(Array.from(row.querySelectorAll("*"))).forEach(function (el) {
        ["name", "id", "for", "data-path", "data-rows", "data-also", "data-add-row", "aria-describedby", "aria-labelledby", "aria-controls"].forEach(function (attr) {
          if (el.hasAttribute(attr)) el.setAttribute(attr, swap(el.getAttribute(attr)));
        });
      });
      row.querySelectorAll("template").forEach(function (t) {
        t.innerHTML = swap(t.innerHTML);
      });
      row.querySelectorAll("[data-row-number]").forEach(function (n) { n.textContent = String(index + 1); });
    });
    box.querySelectorAll(":scope > [data-row]").forEach(function (row, index) {
      const number = row.querySelector(":scope [data-row-number]");
      if (number) number.textContent = String(index + 1);
    });
    const empty = box.parentElement && box.parentElement.querySelector(":scope > [data-rows-empty]");
    if (empty) empty.hidden = box.querySelector(":scope > [data-row]") !== null;
  }

  document.addEventListener("click", function (event) {
    const add = event.target.closest && event.target.closest("[data-add-row]");
    if (add) {
      const box = document.getElementById(add.dataset.addRow);
      const template = box.parentElement.querySelector(":scope > template[data-row-template]") ||
        box.querySelector(":scope > template[data-row-template]");
      const index = box.querySelectorAll(":scope > [data-row]").length;
      const html = template.innerHTML.split(template.dataset.placeholder).join(String(index));
      const holder = document.createElement("div");
      holder.innerHTML = html.trim();
      const row = holder.firstElementChild;
      box.append(row);
      renumber(box);
      wireConditions(row);
      const first = row.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
      return;
    }
    const remove = event.target.closest && event.target.closest("[data-remove-row]");
    if (remove) {
      const row = remove.closest("[data-row]");
      const box = row.parentElement;
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber(box);
      const focus = next && next.matches("[data-row]") ? next.querySelector("[data-remove-row]")
        : document.querySelector('[data-add-row="' + box.id + '"]');
      if (focus) focus.focus();
      return;
    }
    const move = event.target.closest && event.target.closest("[data-move-row]");
    if (move) {
      const row = move.closest("[data-row]");
      const box = row.parentElement;
      if (move.dataset.moveRow === "up" && row.previousElementSibling && row.previousElementSibling.matches("[data-row]")) {
        box.insertBefore(row, row.previousElementSibling);
      } else if (move.dataset.moveRow === "down" && row.nextElementSibling && row.nextElementSibling.matches("[data-row]")) {
        box.insertBefore(row.nextElementSibling, row);
      }
      renumber(box);
      move.focus();
    }
  });

  // ------------------------------------------------------------------ conditional parts

  /* `data-show-when="#select-id=value1,value2"`: shown (and its fields sent) only while the
   * control has one of the values; hidden parts' fields are disabled, so they are not sent. */
  function applyCondition(part) {
    const spec = part.dataset.showWhen;
    const eq = spec.indexOf("=");
    const scope = part.closest("[data-row]") || document;
    const name = spec.slice(0, eq);
    const control = name.startsWith("#") ? document.getElementById(name.slice(1))
      : scope.querySelector('[data-cond="' + name + '"]');
    if (!control) return;
    const wanted = spec.slice(eq + 1).split(",");
    const value = control.type === "checkbox" ? String(control.checked) : control.value;
    const on = wanted.includes(value);
    part.hidden = !on;
    part.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.dataset.alwaysDisabled === undefined) el.disabled = !on;
    });
  }

  function wireConditions(root) {
    root.querySelectorAll("[data-show-when]").forEach(applyCondition);
    root.querySelectorAll("[data-role-select]").forEach(filterScopes);
  }

  document.addEventListener("change", function (event) {
    const row = event.target.closest("[data-row]");
    (row || document).querySelectorAll("[data-show-when]").forEach(applyCondition);
    if (event.target.matches("[data-role-select]")) filterScopes(event.target);
  });

  /* A role is granted on the scope its kind names (01 §3): offer only those scopes. */
  function filterScopes(roleSelect) {
    const row = roleSelect.closest("[data-row]");
    const scope = row && row.querySelector("[data-scope-select]");
    if (!scope) return;
    const option = roleSelect.selectedOptions[0];
    const kind = option ? option.dataset.scope : "";
    let firstAllowed = null;
    scope.querySelectorAll("option").forEach(function (o) {
      const allowed = !kind || o.value.split(":")[0] === kind;
      o.disabled = !allowed;
      o.hidden = !allowed;
      if (allowed && firstAllowed === null) firstAllowed = o;
    });
    scope.querySelectorAll("optgroup").forEach(function (g) {
      g.hidden = !Array.from(g.querySelectorAll("option")).some(function (o) { return !o.disabled; });
    });
    const current = scope.selectedOptions[0];
    if ((!current || current.disabled) && firstAllowed) scope.value = firstAllowed.value;
  }

  /* API keys: an OU or some services, as the radio buttons say. */
  function applyKeyScope() {
    const chosen = document.querySelector('input[name="_scope"]:checked');
    document.querySelectorAll("[data-key-scope]").forEach(function (part) {
      const on = chosen !== null && part.dataset.keyScope === chosen.value;
      part.hidden = !on;
      part.querySelectorAll("input, select").forEach(function (el) { el.disabled = !on; });
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.name === "_scope") applyKeyScope();
  });

  document.addEventListener("click", function (event) {
    const close = event.target.closest && event.target.closest("[data-close-secret]");
    if (!close) return;
    const panel = close.closest("section");
    panel.querySelector("[data-secret-value]").value = "";
    panel.hidden = true;
    const next = document.getElementById(close.dataset.closeSecret);
    if (next) next.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    wireConditions(document);
    applyKeyScope();
  });

  // ------------------------------------------------------------------ JSON editor

  /* Where each node object of the top-level `nodes` list starts and ends in the text, and
   * its id: a small scanner, so that a node is found even when the text is not valid JSON
   * further down. */
  function nodeSpans(text) {
    const spans = [];
    let i = 0;
    let depth = 0;
    let inNodes = false;
    let nodesDepth = -1;
    let lastKey = null;
    let current = null;
    const stack = [];
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
        const str = text.slice(i + 1, j);
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k])) k++;
        if (text[k] === ":") {
          lastKey = str;
        } else if (current && stack.length === nodesDepth + 1 && lastKey === "id" && current.id === undefined) {
          current.id = str;
        }
        i = j + 1;
        continue;
      }
      if (c === "{" || c === "[") {
        stack.push({ c: c, key: lastKey });
        depth = stack.length;
        if (c === "[" && depth === 2 && lastKey === "nodes") {
          inNodes = true;
          nodesDepth = depth;
        } else if (c === "{" && inNodes && depth === nodesDepth + 1) {
          current = { start: i };
        }
        lastKey = null;
      } else if (c === "}" || c === "]") {
        if (c === "}" && inNodes && stack.length === nodesDepth + 1 && current) {
          current.end = i + 1;
          spans.push(current);
          current = null;
        }
        if (c === "]" && inNodes && stack.length === nodesDepth) inNodes = false;
        stack.pop();
        lastKey = null;
      } else if (c === ",") {
        lastKey = null;
      }
      i++;
    }
    return spans;
  }

  function selectRange(area, start, end) {
    area.focus();
    area.setSelectionRange(start, end);
    const before = area.value.slice(0, start).split("\n").length - 1;
    const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 20;
    area.scrollTop = Math.max(0, (before - 3) * lineHeight);
    updatePosition(area);
  }

  function selectNode(area, ref) {
    const spans = nodeSpans(area.value);
    const found = /^\d+$/.test(ref) ? spans[Number(ref)] : spans.find(function (s) { return s.id === ref; });
    if (found) selectRange(area, found.start, found.end);
    return Boolean(found);
  }

  function selectJsonError(area, message) {
    if (!area) return;
    const at = /position (\d+)/.exec(message);
    const lc = /line (\d+) column (\d+)/.exec(message);
    let offset = at ? Number(at[1]) : null;
    if (offset === null && lc) {
      const lines = area.value.split("\n");
      offset = lines.slice(0, Number(lc[1]) - 1).join("\n").length + Number(lc[2]);
    }
    if (offset !== null) selectRange(area, offset, Math.min(area.value.length, offset + 1));
  }

  function nodeButton(ref) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-small";
    button.dataset.showNode = ref;
    button.textContent = "Show node " + ref;
    return button;
  }

  function updatePosition(area) {
    const out = area.id && document.querySelector('[data-position-of="' + area.id + '"]');
    if (!out) return;
    const before = area.value.slice(0, area.selectionStart).split("\n");
    out.textContent = "Line " + before.length + ", column " + (before[before.length - 1].length + 1);
  }

  document.addEventListener("click", function (event) {
    const show = event.target.closest && event.target.closest("[data-show-node]");
    if (show) {
      const area = document.querySelector("[data-json-editor]");
      if (area && !selectNode(area, show.dataset.showNode)) {
        show.textContent = "Node not found in the text";
      }
      return;
    }
    const format = event.target.closest && event.target.closest("[data-format-json]");
    if (format) {
      const area = document.getElementById(format.dataset.formatJson);
      try {
        area.value = JSON.stringify(JSON.parse(area.value), null, 2) + "\n";
      } catch (error) {
        const form = area.closest("form");
        showProblem(form, { detail: "This is not valid JSON: " + error.message, errors: [] });
        selectJsonError(area, error.message);
      }
    }
  });

  ["keyup", "click", "select"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (event.target.matches && event.target.matches("[data-json-editor]")) updatePosition(event.target);
    });
  });
})();
