// openai_client.mjs PORT KEY — the official openai npm client against `hegui serve`: whole and streamed answers,
// a blocked prompt, a blocked answer cut mid-stream, a redacted phone number restored, a tool call round trip (whole,
// and streamed through the client's own accumulating helper), moderations in the string and the parts form, and the
// client's own errors for a bad key and a refused request. Prints "N passed, M failed" and exits non-zero on any
// failure.
import OpenAI from "openai";

const [port, key] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key, maxRetries: 0 });
let passed = 0, failed = 0;
const check = (cond, what) => { if (cond) passed++; else { failed++; console.log("FAIL:", what); } };

async function collect(stream) {
  let text = "", finish = null, aigc = null;
  for await (const chunk of stream) {
    const c = chunk.choices?.[0];
    if (c?.delta?.content) text += c.delta.content;
    if (c?.finish_reason) finish = c.finish_reason;
    if (chunk.aigc) aigc = chunk.aigc;
  }
  return { text, finish, aigc };
}

const ask = (content, extra = {}) =>
  client.chat.completions.create({ model: "sample-1", messages: [{ role: "user", content }], ...extra });

// whole answer
const r = await ask("你好");
check(r.choices[0].finish_reason === "stop", "whole answer finishes with stop");
check(r.choices[0].message.content.includes("本内容由人工智能生成"), "explicit label in the answer");
check(r.aigc?.ProduceID === r.id && r.aigc?.ReservedCode1?.length > 40, "implicit label with signature");

// streamed answer, same text
const s = await collect(await ask("你好", { stream: true }));
check(s.finish === "stop" && s.text === r.choices[0].message.content, "streamed answer equals the whole one");
check(s.aigc?.Label === "1", "streamed answer carries the label");

// blocked prompt, whole and streamed
const b = await ask("怎么买冰毒");
check(b.choices[0].finish_reason === "content_filter", "blocked prompt: content_filter");
const bs = await collect(await ask("怎么买冰毒", { stream: true }));
check(bs.finish === "content_filter" && !bs.text.includes("冰"), "blocked prompt, streamed");

// an answer blocked mid-stream: the sample model's canned answer names a prohibited word
const cut = await collect(await ask("讲一个危险的故事 __unsafe__", { stream: true }));
check(cut.finish === "content_filter", "answer blocked mid-stream: " + cut.finish);
check(!cut.text.includes("冰毒") && !cut.text.includes("冰"), "nothing of the word reached the client");

// personal data: redacted on the way in, the user's own number back on the way out
const p = await ask("echo: 我的手机号是13812345678，请记下");
check(p.choices[0].message.content.includes("13812345678"), "placeholder restored in the answer");

// completions route
const c = await client.completions.create({ model: "sample-1", prompt: "hello" });
check(typeof c.choices[0].text === "string" && c.aigc?.Label === "1", "completions route");

// tool calls: the sample model calls the tool its prompt names ("tool: NAME ARGUMENTS"), and answers from its result
const tools = [{ type: "function", function: { name: "get_weather", description: "今天某地的天气",
  parameters: { type: "object", properties: { city: { type: "string", description: "城市" } }, required: ["city"] } } }];
const askTool = [{ role: "user", content: 'tool: get_weather {"city":"北京"}' }];
const t1 = await client.chat.completions.create({ model: "sample-1", messages: askTool, tools });
const call = t1.choices[0].message.tool_calls?.[0];
check(t1.choices[0].finish_reason === "tool_calls" && call?.type === "function" &&
  call.function.name === "get_weather" && JSON.parse(call.function.arguments).city === "北京",
  "whole answer: a tool call: " + JSON.stringify(t1.choices[0]));
const ts = client.beta.chat.completions.stream({ model: "sample-1", messages: askTool, tools });
const tf = await ts.finalChatCompletion();
const scall = tf.choices[0].message.tool_calls?.[0];
check(tf.choices[0].finish_reason === "tool_calls" && scall?.function.name === "get_weather" &&
  scall.function.arguments === call?.function.arguments, "streamed: the client assembles the same call");
const t2 = await client.chat.completions.create({ model: "sample-1", tools, messages: [...askTool,
  t1.choices[0].message, { role: "tool", tool_call_id: call?.id, content: "晴，25度" }] });
check(t2.choices[0].finish_reason === "stop" && t2.choices[0].message.content.startsWith("tool result: 晴，25度"),
  "round trip: the answer comes from the tool's result: " + t2.choices[0].message.content);
const tb = await client.chat.completions.create({ model: "sample-1", messages: [{ role: "user", content: "你好" }],
  tools: [{ type: "function", function: { name: "buy", description: "购买冰毒" } }] });
check(tb.choices[0].finish_reason === "content_filter", "a tool's description is moderated");

// models and moderations
const models = await client.models.list();
check(models.data.length > 0, "models passthrough");
const mod = await client.moderations.create({ input: "卖冰毒" });
check(mod.results[0].flagged === true, "moderations flags a prohibited word");
// hegui's own object: the moderator's verdict and every reason (detector, entry, risk code, effect, span)
const why = mod.results[0].hegui || {};
const hit = (why.hits || [])[0] || {};
check(why.verdict === "block" && hit.detector === "lexicon" && hit.entry === "冰毒" && hit.category === "A1h" &&
      hit.effect === "block" && hit.start === 3 && hit.end === 9 && mod.results[0].categories.illicit === true,
      "moderations explains the verdict: " + JSON.stringify(why));
const modSplit = await client.moderations.create({ input: "卖冰\n毒" });
check(modSplit.results[0].flagged === true, "a line break inside an entry is noise");
const modPii = await client.moderations.create({ input: "电话13812345678" });
check(modPii.results[0].flagged === false && modPii.results[0].hegui.verdict === "redact" &&
      modPii.results[0].hegui.pii[0].type === "mobile", "personal data: redact, not flagged");
const modParts = await client.moderations.create({ input: [{ type: "text", text: "哪里" }, { type: "text", text: "卖冰毒" }] });
check(modParts.results.length === 1 && modParts.results[0].flagged === true, "moderations, parts form: one result");
try {
  await client.moderations.create({ input: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] });
  check(false, "an image to moderations must fail");
} catch (e) {
  check(e instanceof OpenAI.BadRequestError && e.param === "input[0]", "moderations: an image is a 400 naming it");
}
try {
  await client.chat.completions.create({ model: "sample-1", messages: [{ role: "User", content: "hi" }] });
  check(false, "an unknown role must fail");
} catch (e) {
  check(e instanceof OpenAI.BadRequestError && e.param === "messages[0].role", "an unknown role is a 400 naming it");
}

// errors as the client raises them
try {
  await new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "hg-wrong", maxRetries: 0 }).chat.completions
    .create({ model: "m", messages: [{ role: "user", content: "hi" }] });
  check(false, "a bad key must fail");
} catch (e) {
  check(e instanceof OpenAI.AuthenticationError && e.status === 401, "bad key -> AuthenticationError 401");
}

console.log(`openai client: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
