// ESLint rule: a call whose value is a `Result` (src/core/result.ts) must be used. A Result carries
// a failure as a value, so an expression statement that drops one drops the failure silently.
// Type-aware: it asks TypeScript for the statement's type, awaited or not.

/** True when `type` is, or is a union only of, objects with a boolean-literal `ok` and `value` or `error`. */
function isResultType(checker, type) {
  const parts = type.isUnion() ? type.types : [type];
  return parts.length > 0 && parts.every((part) => {
    const ok = part.getProperty('ok');
    if (!ok) return false;
    return part.getProperty('value') !== undefined || part.getProperty('error') !== undefined;
  });
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow dropping a Result: check it, return it or pass it on' },
    messages: { unused: 'This {{what}} returns a Result that is dropped: check `.ok` or pass it on.' },
    schema: [],
  },
  create(context) {
    const services = context.sourceCode.parserServices;
    if (!services?.program) return {};
    const checker = services.program.getTypeChecker();
    return {
      ExpressionStatement(node) {
        let expression = node.expression;
        let awaited = false;
        if (expression.type === 'AwaitExpression') {
          expression = expression.argument;
          awaited = true;
        }
        if (expression.type !== 'CallExpression' && expression.type !== 'NewExpression') return;
        let type = checker.getTypeAtLocation(services.esTreeNodeToTSNodeMap.get(expression));
        if (awaited) type = checker.getAwaitedType(type) ?? type;
        if (isResultType(checker, type)) context.report({ node, messageId: 'unused', data: { what: awaited ? 'awaited call' : 'call' } });
      },
    };
  },
};
