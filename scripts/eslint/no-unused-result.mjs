// ESLint rule: a call whose value is a `Result` (src/core/result.ts) must be used. A Result carries
// a failure as a value, so dropping one drops the failure silently. Two ways to drop it:
// - an expression statement (`send(x);`, `await send(x);`);
// - an arrow function whose body is the call, given where a function returning void is expected
//   (`onEvent: () => send(x)`): the caller throws the value away.
// Type-aware: it asks TypeScript for the types.
import ts from 'typescript';

/** True when `type` is, or is a union only of, objects with `ok` and a `value` or an `error`. */
function isResultType(type) {
  const parts = type.isUnion() ? type.types : [type];
  return parts.length > 0 && parts.every((part) => part.getProperty('ok') !== undefined && (part.getProperty('value') !== undefined || part.getProperty('error') !== undefined));
}

/** True when every call signature of the type expected here returns void. */
function expectsVoid(checker, tsNode) {
  const contextual = checker.getContextualType(tsNode);
  if (!contextual) return false;
  // An optional callback (`onExit?: () => void`) is expected as `(() => void) | undefined`.
  const signatures = checker.getNonNullableType(contextual).getCallSignatures();
  return signatures.length > 0 && signatures.every((s) => (checker.getReturnTypeOfSignature(s).flags & ts.TypeFlags.Void) !== 0);
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow dropping a Result: check it, return it or pass it on' },
    messages: {
      unused: 'This {{what}} returns a Result that is dropped: check `.ok` or pass it on.',
      voidCallback: 'This callback returns a Result where nothing reads the return value: check `.ok` in a block body.',
    },
    schema: [],
  },
  create(context) {
    const services = context.sourceCode.parserServices;
    if (!services?.program) return {};
    const checker = services.program.getTypeChecker();
    const typeOf = (node) => checker.getTypeAtLocation(services.esTreeNodeToTSNodeMap.get(node));
    const resultOf = (expression) => {
      let awaited = false;
      if (expression.type === 'AwaitExpression') {
        expression = expression.argument;
        awaited = true;
      }
      if (expression.type !== 'CallExpression' && expression.type !== 'NewExpression') return null;
      let type = typeOf(expression);
      if (awaited) type = checker.getAwaitedType(type) ?? type;
      return isResultType(type) ? (awaited ? 'awaited call' : 'call') : null;
    };
    return {
      ExpressionStatement(node) {
        const what = resultOf(node.expression);
        if (what !== null) context.report({ node, messageId: 'unused', data: { what } });
      },
      ArrowFunctionExpression(node) {
        if (node.body.type === 'BlockStatement' || node.async) return;
        if (resultOf(node.body) === null) return;
        if (expectsVoid(checker, services.esTreeNodeToTSNodeMap.get(node))) context.report({ node: node.body, messageId: 'voidCallback' });
      },
    };
  },
};
