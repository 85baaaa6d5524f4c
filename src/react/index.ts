// The React bindings (WebSocketProvider, useWebSocket, WebSocketStatus) land with the React issue.
export {};
